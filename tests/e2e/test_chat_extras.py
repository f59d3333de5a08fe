"""Chat extras in Chromium: lazily loaded code highlighting, edit-and-resend (a new
session branch), image attachments for vision models (refused for the others)."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx

from tests.e2e.conftest import ADMIN_KEY, shot
from tests.e2e.test_web_app import MODEL, chat_requests, sign_in
from tests.fakes import FakeOpenAI, Reply
from tests.server import ServerProcess

# A 2x2 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGM8ISfHwMDAxMDAwMDAAAANBAEIfXHKZgAAAABJRU5ErkJggg=="
)
HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def choose(page: Any, model: str) -> None:
    page.locator(".model-button").click()
    page.get_by_label("Search models").fill(model.split("/")[1])
    exact = page.locator(".model-id", has_text=re.compile(f"^{re.escape(model)}$"))
    page.locator(".model-option", has=exact).click()
    page.wait_for_function(
        "m => document.querySelector('.model-button').textContent.includes(m)", arg=model
    )


def send(page: Any, text: str) -> None:
    n = page.locator("[data-testid=usage]").count()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()
    page.locator("[data-testid=usage]").nth(n).wait_for()


def test_code_blocks_are_highlighted_by_a_lazy_chunk(
    page: Any, gateway: ServerProcess, fake: FakeOpenAI
) -> None:
    scripts: list[str] = []
    page.on("request", lambda r: r.resource_type == "script" and scripts.append(r.url))
    sign_in(page, gateway.url)
    choose(page, MODEL)
    send(page, "plain words first")
    assert not any("highlight" in u for u in scripts), scripts  # not loaded without code
    fake.enqueue(Reply(text="Here:\n\n```python\ndef double(x):\n    return x * 2\n```\n"))
    send(page, "some code please")
    code = page.locator("[data-testid=msg-assistant] pre code.hljs").last
    code.wait_for()
    assert code.locator(".hljs-keyword").first.inner_text() == "def"
    assert any("highlight" in u for u in scripts), scripts
    assert code.inner_text().startswith("def double(x):")
    shot(page, "chat-code-highlight")
    assert page.console_errors == []


def test_edit_and_resend_branches_the_session(
    page: Any, gateway: ServerProcess, fake: FakeOpenAI
) -> None:
    tag = page.viewport_name
    sign_in(page, gateway.url)
    choose(page, MODEL)
    send(page, f"first {tag}")
    send(page, f"second {tag}")
    original = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="Edit message").first.click()
    box = page.get_by_label("Edited message")
    box.fill(f"first edited {tag}")
    shot(page, "chat-edit")
    page.get_by_role("button", name="Save and resend").click()
    page.wait_for_function("o => !location.hash.endsWith(o)", arg=original)
    page.locator("[data-testid=usage]").first.wait_for()
    assert page.locator("[data-testid=msg-user]").count() == 1  # later turns dropped
    replies = page.locator("[data-testid=msg-assistant]")
    assert replies.count() == 1
    assert f"echo: first edited {tag}" in replies.first.inner_text()
    assert "continues in a new session" in page.get_by_role("status").first.inner_text()
    branch = page.url.rsplit("/", 1)[1]
    sent = chat_requests(fake)[-1].body["messages"]
    assert [m["content"] for m in sent] == [f"first edited {tag}"]  # nothing before the edit

    def roles(sid: str) -> list[tuple[str, Any]]:
        s = httpx.get(f"{gateway.url}/v1/sessions/{sid}", headers=HEADERS).json()
        return [(m["role"], m["content"]) for m in s["messages"]["data"]]

    edited = f"first edited {tag}"
    assert roles(branch) == [("user", edited), ("assistant", f"echo: {edited}")]
    assert len(roles(original)) == 4  # the original conversation is kept
    # Editing a later message keeps the earlier turns in the branch.
    send(page, f"third {tag}")
    page.get_by_role("button", name="Edit message").last.click()
    page.get_by_label("Edited message").fill(f"third edited {tag}")
    page.get_by_role("button", name="Save and resend").click()
    page.wait_for_function("o => !location.hash.endsWith(o)", arg=branch)
    page.locator("[data-testid=usage]").nth(1).wait_for()
    again = page.url.rsplit("/", 1)[1]
    assert [r for r, _ in roles(again)] == ["user", "assistant", "user", "assistant"]
    assert roles(again)[2] == ("user", f"third edited {tag}")
    page.reload()  # the branch resumes like any session
    page.locator("[data-testid=msg-assistant]").nth(1).wait_for()
    last = page.locator("[data-testid=msg-assistant]").last
    assert f"echo: third edited {tag}" in last.inner_text()
    shot(page, "chat-edited")


def test_image_attachments_for_vision_models(
    page: Any, gateway: ServerProcess, fake: FakeOpenAI
) -> None:
    sign_in(page, gateway.url)
    choose(page, "fakeai/gpt-3.5-turbo-instruct")  # no vision
    page.get_by_role("button", name="Attach images").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "can't see images" in alert.inner_text()

    choose(page, MODEL)  # vision
    page.locator("#attach-input").set_input_files(
        [{"name": "dot.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.get_by_role("img", name="Attached image 1").wait_for()
    # A second picture dropped onto the message box.
    page.evaluate(
        """b64 => {
          const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], 'drop.png', {type: 'image/png'}));
          const form = document.querySelector('.composer');
          const opts = {dataTransfer: dt, bubbles: true, cancelable: true};
          form.dispatchEvent(new DragEvent('dragover', opts));
          form.dispatchEvent(new DragEvent('drop', opts));
        }""",
        base64.b64encode(PNG).decode(),
    )
    page.get_by_role("img", name="Attached image 2").wait_for()
    page.get_by_role("button", name="Remove image 2").click()
    shot(page, "chat-attachment")
    send(page, "what is in this picture?")
    content = chat_requests(fake)[-1].body["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "what is in this picture?"}
    assert len(content) == 2 and content[1]["type"] == "image_url"
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert content[1]["image_url"]["url"] == data_url
    page.get_by_role("img", name="Image 1 sent with this message").wait_for()
    page.reload()  # stored in the session with its picture
    page.get_by_role("img", name="Image 1 sent with this message").wait_for()
    shot(page, "chat-image-sent")
    assert page.console_errors == []
