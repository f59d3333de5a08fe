import { describe, expect, it } from "vitest";
import { fileRefusal, imageFiles, MAX_IMAGES, scaledSize, visionRefusal } from "./attachments";

describe("attachments", () => {
  it("refuses images for a model without vision, in words", () => {
    expect(visionRefusal({ id: "a/text-only", capabilities: { vision: false } })).toMatch(/a\/text-only can't see images/);
    expect(visionRefusal({ id: "a/eyes", capabilities: { vision: true } })).toBeNull();
    expect(visionRefusal(null)).toBeNull();
  });

  it("takes common image types up to the limits", () => {
    expect(fileRefusal({ name: "a.png", type: "image/png", size: 10 }, 0)).toBeNull();
    expect(fileRefusal({ name: "a.pdf", type: "application/pdf", size: 10 }, 0)).toMatch(/not a PNG/);
    expect(fileRefusal({ name: "big.jpg", type: "image/jpeg", size: 50 * 1024 * 1024 }, 0)).toMatch(/larger than 20 MB/);
    expect(fileRefusal({ name: "a.png", type: "image/png", size: 10 }, MAX_IMAGES)).toMatch(/At most/);
  });

  it("scales the longest side down to the limit", () => {
    expect(scaledSize(800, 600)).toEqual({ width: 800, height: 600 });
    expect(scaledSize(4096, 1024)).toEqual({ width: 2048, height: 512 });
    expect(scaledSize(1000, 3000, 1500)).toEqual({ width: 500, height: 1500 });
  });

  it("finds image files among dropped items", () => {
    const png = new File(["x"], "a.png", { type: "image/png" });
    const txt = new File(["x"], "a.txt", { type: "text/plain" });
    const data = { files: [png, txt] } as unknown as DataTransfer;
    expect(imageFiles(data)).toEqual([png]);
    expect(imageFiles(null)).toEqual([]);
  });
});
