import { useRef, useState, type ClipboardEvent, type DragEvent, type FormEvent, type KeyboardEvent } from "react";
import { fileRefusal, imageFiles, toDataUrl } from "./attachments";

interface Props {
  modelId: string | null;
  busy: boolean;
  /** Why the model can't take images (null when it can). */
  visionRefusal: string | null;
  canRegenerate: boolean;
  onSend(text: string, images: string[]): void;
  onStop(): void;
  onRegenerate(): void;
  onError(message: string | null): void;
}

/** The message box: text, attached images (pick, paste or drop), send / stop / regenerate. */
export function Composer({ modelId, busy, visionRefusal, canRegenerate, onSend, onStop, onRegenerate, onError }: Props) {
  const [draft, setDraft] = useState("");
  const [images, setImages] = useState<string[]>([]);
  const [dragging, setDragging] = useState(false);
  const picker = useRef<HTMLInputElement>(null);

  async function attach(files: File[]) {
    if (!files.length) return;
    if (visionRefusal) return onError(visionRefusal);
    const added: string[] = [];
    for (const file of files) {
      const why = fileRefusal(file, images.length + added.length);
      if (why) {
        onError(why);
        break;
      }
      try {
        added.push(await toDataUrl(file));
      } catch {
        onError(`${file.name} could not be read as an image.`);
        break;
      }
    }
    if (added.length) {
      if (added.length === files.length) onError(null);
      setImages((list) => [...list, ...added]);
    }
  }

  function submit(e?: FormEvent) {
    e?.preventDefault();
    const text = draft.trim();
    if ((!text && !images.length) || busy) return;
    if (images.length && visionRefusal) return onError(visionRefusal);
    setDraft("");
    setImages([]);
    onSend(text, images);
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) submit();
  }

  function onPaste(e: ClipboardEvent<HTMLTextAreaElement>) {
    const files = imageFiles(e.clipboardData);
    if (files.length) {
      e.preventDefault();
      void attach(files);
    }
  }

  function onDrop(e: DragEvent<HTMLFormElement>) {
    e.preventDefault();
    setDragging(false);
    void attach(imageFiles(e.dataTransfer));
  }

  return (
    <form
      className={`composer${dragging ? " dragging" : ""}`}
      onSubmit={submit}
      onDragOver={(e) => {
        if ([...e.dataTransfer.types].includes("Files")) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      {images.length > 0 && (
        <ul className="attachments" aria-label="Attached images">
          {images.map((url, i) => (
            <li key={i}>
              <img src={url} alt={`Attached image ${i + 1}`} />
              <button
                type="button"
                className="icon small"
                aria-label={`Remove image ${i + 1}`}
                onClick={() => setImages((list) => list.filter((_, j) => j !== i))}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      <label htmlFor="prompt" className="sr-only">
        Message
      </label>
      <textarea
        id="prompt"
        rows={2}
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={onKey}
        onPaste={onPaste}
        placeholder={modelId ? "Message… (Enter to send, Shift+Enter for a new line)" : "Choose a model first"}
      />
      <div className="composer-actions">
        <input
          ref={picker}
          id="attach-input"
          type="file"
          accept="image/png,image/jpeg,image/webp,image/gif"
          multiple
          hidden
          onChange={(e) => {
            void attach([...(e.target.files ?? [])]);
            e.target.value = "";
          }}
        />
        <button
          type="button"
          className="icon"
          aria-label="Attach images"
          title={visionRefusal ?? "Attach images (or paste / drop them)"}
          onClick={() => (visionRefusal ? onError(visionRefusal) : picker.current?.click())}
        >
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
            <path d="M21 11.5 12.6 19.9a5.5 5.5 0 0 1-7.8-7.8l8.5-8.5a3.7 3.7 0 0 1 5.2 5.2l-8.5 8.5a1.8 1.8 0 0 1-2.6-2.6l7.8-7.8" />
          </svg>
        </button>
        {busy ? (
          <button type="button" onClick={onStop}>
            Stop
          </button>
        ) : (
          <>
            {canRegenerate && (
              <button type="button" onClick={onRegenerate} title="Ask again: the prompt is sent as a new turn">
                Regenerate
              </button>
            )}
            <button type="submit" className="primary" disabled={(!draft.trim() && !images.length) || !modelId}>
              Send
            </button>
          </>
        )}
      </div>
    </form>
  );
}
