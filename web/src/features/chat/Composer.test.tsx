import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Composer } from "./Composer";
import { MessageView } from "./MessageView";

afterEach(cleanup);

function composer(over: Partial<Parameters<typeof Composer>[0]> = {}) {
  const props = {
    modelId: "m",
    busy: false,
    visionRefusal: null,
    canRegenerate: false,
    onSend: vi.fn(),
    onStop: vi.fn(),
    onRegenerate: vi.fn(),
    onError: vi.fn(),
    ...over,
  };
  render(<Composer {...props} />);
  return props;
}

describe("Composer", () => {
  it("sends on Enter and clears the box", () => {
    const p = composer();
    const box = screen.getByLabelText("Message");
    fireEvent.change(box, { target: { value: " hello " } });
    fireEvent.keyDown(box, { key: "Enter" });
    expect(p.onSend).toHaveBeenCalledWith("hello", []);
    expect((box as HTMLTextAreaElement).value).toBe("");
  });

  it("says why images can't be attached for a model without vision", () => {
    const p = composer({ visionRefusal: "m can't see images." });
    fireEvent.click(screen.getByRole("button", { name: "Attach images" }));
    expect(p.onError).toHaveBeenCalledWith("m can't see images.");
  });

  it("offers Stop while busy", () => {
    const p = composer({ busy: true });
    fireEvent.click(screen.getByRole("button", { name: "Stop" }));
    expect(p.onStop).toHaveBeenCalled();
    expect(screen.queryByRole("button", { name: "Send" })).toBeNull();
  });
});

describe("MessageView editing", () => {
  it("edits a user message and resends it", () => {
    const onEdit = vi.fn();
    render(<MessageView m={{ id: "1", role: "user", content: "old", images: ["data:image/png;base64,AA"] }} onEdit={onEdit} />);
    expect(screen.getByRole("img", { name: "Image 1 sent with this message" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Edit message" }));
    fireEvent.change(screen.getByLabelText("Edited message"), { target: { value: "new text " } });
    fireEvent.click(screen.getByRole("button", { name: "Save and resend" }));
    expect(onEdit).toHaveBeenCalledWith("new text");
    expect(screen.queryByLabelText("Edited message")).toBeNull();
  });

  it("offers no edit on replies", () => {
    render(<MessageView m={{ id: "2", role: "assistant", content: "hi" }} />);
    expect(screen.queryByRole("button", { name: "Edit message" })).toBeNull();
  });
});
