import { useEffect, useRef, useState } from "react";
import type { ModelCard } from "../../api/types";
import { badges, groupModels, isChatModel } from "./badges";

interface Props {
  models: ModelCard[];
  value: string | null;
  onChange(id: string): void;
  onClose(): void;
}

/** Every model from /v1/models, grouped by provider and modality, searchable. */
export function ModelPicker({ models, value, onChange, onClose }: Props) {
  const [search, setSearch] = useState("");
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
  }, []);
  const groups = groupModels(models, search);

  return (
    <div
      className="overlay"
      role="dialog"
      aria-modal="true"
      aria-label="Choose a model"
      onKeyDown={(e) => e.key === "Escape" && onClose()}
      onClick={(e) => e.target === e.currentTarget && onClose()}
    >
      <div className="card picker">
        <div className="row">
          <label htmlFor="model-search" className="sr-only">
            Search models
          </label>
          <input
            id="model-search"
            ref={input}
            type="search"
            placeholder="Search models, providers, capabilities…"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <button type="button" onClick={onClose} aria-label="Close model list">
            ✕
          </button>
        </div>
        <div className="picker-list">
          {groups.length === 0 && <p className="muted">No model matches “{search}”.</p>}
          {groups.map(([group, cards]) => (
            <section key={group} aria-label={group}>
              <h3>{group}</h3>
              <ul>
                {cards.map((m) => {
                  const usable = isChatModel(m);
                  return (
                    <li key={m.id}>
                      <button
                        type="button"
                        className="model-option"
                        aria-pressed={m.id === value}
                        disabled={!usable}
                        title={usable ? undefined : "Not a chat model: image and 3D models are in the Images and 3D studios"}
                        onClick={() => {
                          onChange(m.id);
                          onClose();
                        }}
                      >
                        <span className="model-id">{m.id}</span>
                        <span className="badges">
                          {badges(m).map((b) => (
                            <span key={b} className={`badge badge-${b.toLowerCase()}`}>
                              {b}
                            </span>
                          ))}
                        </span>
                      </button>
                    </li>
                  );
                })}
              </ul>
            </section>
          ))}
        </div>
      </div>
    </div>
  );
}
