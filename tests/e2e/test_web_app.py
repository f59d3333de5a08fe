"""The web app in real headless Chromium against a real gateway, at phone and desktop size."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.e2e.conftest import ADMIN_KEY, Site, shot
from tests.fakes import FakeOpenAI
from tests.server import ServerProcess, free_port

MODEL = "fakeai/gpt-4o-mini"


def sign_in(page: Any, url: str, key: str = ADMIN_KEY) -> None:
    page.goto(url + "/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.locator(".model-button").wait_for()


def account_action(page: Any, name: str) -> None:
    """My keys / Sign out: in the top bar on a desktop, in the ☰ menu on a phone."""
    if page.viewport_name == "phone":
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name=name).click()


def open_section(page: Any, name: str) -> None:
    """Chat / Images / 3D / Models: in the top bar on a desktop, in the ☰ menu on a phone."""
    if page.viewport_name == "phone":
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Sections").filter(visible=True).get_by_role(
        "link", name=name, exact=True
    ).click()


def pick_model(page: Any, model: str = MODEL) -> None:
    page.locator(".model-button").click()
    page.get_by_role("button", name=model).wait_for()
    shot(page, "model-picker")
    page.get_by_label("Search models").fill("4o-mini")
    page.get_by_role("button", name=model).click()
    page.wait_for_function(
        "m => document.querySelector('.model-button').textContent.includes(m)", arg=model
    )


def chat_requests(fake: FakeOpenAI) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/chat/completions")]


def test_gateway_serves_app_beside_api(gateway: ServerProcess) -> None:
    index = httpx.get(gateway.url + "/")
    assert index.status_code == 200 and '<div id="root">' in index.text
    assert httpx.get(gateway.url + "/manifest.webmanifest").json()["name"] == "PlugAI"
    assert httpx.get(gateway.url + "/healthz").status_code == 200
    assert httpx.get(gateway.url + "/openapi.json").json()["info"]["title"] == "PlugAI"
    assert httpx.get(gateway.url + "/v1/models").status_code == 401  # API, not the app
    assert "error" in httpx.get(gateway.url + "/v1/nope").json()  # API paths never get the app
    assert httpx.post(gateway.url + "/nope").status_code == 404


def test_sign_in_rejects_a_bad_key(page: Any, gateway: ServerProcess) -> None:
    page.goto(gateway.url + "/")
    page.get_by_label("API key").fill("sk-not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "not accepted" in alert.inner_text()
    assert "request id" in alert.inner_text()
    shot(page, "signin-bad-key")


def test_chat_streams_resumes_and_sends_parameters(
    page: Any, gateway: ServerProcess, fake: FakeOpenAI
) -> None:
    sign_in(page, gateway.url)
    pick_model(page)

    # A parameter set in the generated panel reaches the request.
    page.get_by_role("button", name="Parameters").click()
    page.get_by_label("Temperature value").fill("0.3")
    page.get_by_label("Max Tokens", exact=True).fill("0")  # refused before sending
    assert "at least 1" in page.locator("#param-max_tokens-err").inner_text()
    page.get_by_role("button", name="Reset Max Tokens").click()
    shot(page, "parameters")
    if page.viewport_name == "phone":
        page.get_by_role("button", name="✕ Close parameters").click()

    words = " ".join(f"word{i}" for i in range(16))
    page.get_by_label("Message", exact=True).fill(f"hello {words}")
    page.get_by_role("button", name="Send").click()

    reply = page.locator("[data-testid=msg-assistant] .markdown").last
    lengths: list[int] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lengths.append(len(reply.inner_text()) if reply.count() else 0)
        if page.locator("[data-testid=usage]").count():
            break
        time.sleep(0.05)
    grew = sorted({n for n in lengths if n})
    assert len(grew) >= 4, f"the reply did not grow token by token: {lengths}"
    assert reply.inner_text().strip() == f"echo: hello {words}"
    assert "tokens" in page.locator("[data-testid=usage]").inner_text()
    shot(page, "chat-streamed")

    body = chat_requests(fake)[-1].body
    assert body["temperature"] == 0.3 and body["stream"] is True
    assert "max_tokens" not in body

    # Every chat is a server session: a reload resumes it from the gateway.
    assert "#/s/" in page.url
    session_id = page.url.rsplit("/", 1)[1]
    page.emulate_media(color_scheme="dark")  # the theme follows the system until chosen
    page.reload()
    page.wait_for_function("document.documentElement.dataset.theme === 'dark'")
    page.locator("[data-testid=msg-assistant]").first.wait_for()
    assert page.locator("[data-testid=msg-user]").first.inner_text().endswith(f"hello {words}")
    assert f"echo: hello {words}" in page.locator("[data-testid=msg-assistant]").first.inner_text()
    stored = httpx.get(
        f"{gateway.url}/v1/sessions/{session_id}",
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ).json()
    assert [m["role"] for m in stored["messages"]["data"]] == ["user", "assistant"]
    shot(page, "chat-resumed")

    # Sign out forgets the key.
    account_action(page, "Sign out")
    page.get_by_label("API key").wait_for()
    assert page.evaluate("localStorage.getItem('plugai.apiKey')") is None


def test_add_and_delete_a_personal_key(page: Any, gateway: ServerProcess) -> None:
    sign_in(page, gateway.url)
    account_action(page, "My keys")
    page.locator("#key-provider").select_option("fakeai")
    page.get_by_label("Key", exact=True).fill("sk-my-own-key-WXYZ")
    page.get_by_role("button", name="Save key").click()
    row = page.locator("[data-testid=key-fakeai]")
    row.wait_for()
    assert "••••WXYZ" in row.inner_text()
    assert "sk-my-own" not in page.content()  # only masked values are shown
    shot(page, "keys")
    page.get_by_role("button", name="Delete fakeai key").click()
    row.wait_for(state="detached")
    assert "Deleted your fakeai key" in page.get_by_role("status").inner_text()


def test_app_hosted_elsewhere_talks_to_the_gateway(
    page: Any, gateway: ServerProcess, elsewhere: Site
) -> None:
    """web/dist on another origin: config.json names the gateway, whose CORS allows it."""
    sign_in(page, elsewhere.url)
    pick_model(page)
    page.get_by_label("Message", exact=True).fill("from afar")
    page.get_by_role("button", name="Send").click()
    page.locator("[data-testid=usage]").wait_for()
    assert "echo: from afar" in page.locator("[data-testid=msg-assistant]").inner_text()
    shot(page, "hosted-elsewhere")


def test_unreachable_gateway_is_explained(page: Any, gateway: ServerProcess) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    page.route(
        "**/config.json",
        lambda route: route.fulfill(json={"apiBaseUrl": dead}),
    )
    page.goto(gateway.url + "/")
    page.get_by_label("API key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert f"Can't reach the PlugAI gateway at {dead}" in alert.inner_text()
    shot(page, "signin-unreachable")


def test_installable_pwa_with_an_offline_shell(browser: Any, gateway: ServerProcess) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(gateway.url + "/")
        page.get_by_label("API key").wait_for()
        page.wait_for_function(
            "navigator.serviceWorker.getRegistration().then(r => !!(r && r.active))"
        )
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        # Playwright's contexts are off the record; everything else must pass.
        assert [e for e in errors if e["errorId"] != "in-incognito"] == [], errors
        manifest = cdp.send("Page.getAppManifest")
        assert not manifest.get("errors"), manifest
        page.reload()  # now controlled by the service worker, which caches the shell
        page.wait_for_function("!!navigator.serviceWorker.controller")
        page.get_by_label("API key").wait_for()
        context.set_offline(True)
        page.reload()
        page.get_by_label("API key").wait_for()  # the app shell comes from the cache
        page.viewport_name = "phone"
        shot(page, "offline-shell")
    finally:
        context.close()


def test_stop_regenerate_and_keyboard(page: Any, gateway: ServerProcess) -> None:
    sign_in(page, gateway.url)
    pick_model(page)
    box = page.get_by_label("Message", exact=True)
    box.fill("stop " + " ".join(f"w{i}" for i in range(60)))
    box.press("Enter")  # Enter sends; Shift+Enter is a new line
    reply = page.locator("[data-testid=msg-assistant]").last
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=msg-assistant] .markdown')]"
        ".some(e => e.textContent.length > 10)"
    )
    page.get_by_role("button", name="Stop", exact=True).click()
    reply.get_by_text("Stopped.").wait_for()
    assert "w59" not in reply.inner_text()
    page.get_by_role("button", name="Regenerate", exact=True).click()
    page.locator("[data-testid=usage]").wait_for(timeout=20_000)
    assert page.locator("[data-testid=msg-assistant]").last.inner_text().count("w59") == 1
    shot(page, "stop-regenerate")


def test_sessions_sidebar(page: Any, gateway: ServerProcess) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    tag = page.viewport_name
    for title in (f"Trip to Lyon {tag}", f"Tax forms {tag}"):
        httpx.post(f"{gateway.url}/v1/sessions", headers=headers, json={"title": title})
    sign_in(page, gateway.url)
    if tag == "phone":
        page.get_by_role("button", name="Menu").click()
    nav = page.get_by_role("navigation", name="Sessions")
    nav.get_by_label("Search sessions").fill(f"lyon {tag}")
    nav.get_by_text(f"Tax forms {tag}").wait_for(state="detached")  # searched on the server
    page.get_by_role("button", name=f"Rename Trip to Lyon {tag}").click()
    nav.get_by_label("New title").fill(f"Lyon weekend {tag}")
    nav.get_by_label("New title").press("Enter")
    nav.get_by_label("Search sessions").fill(f"weekend {tag}")
    nav.get_by_role("button", name=f"Close Lyon weekend {tag}").click()
    nav.get_by_text("0 messages · closed").wait_for()
    nav.get_by_role("button", name=f"Lyon weekend {tag}").first.click()
    page.get_by_text("This session is closed").wait_for()
    shot(page, "sessions")
    if tag == "phone":
        page.get_by_role("button", name="Menu").click()
    page.once("dialog", lambda d: d.accept())
    nav.get_by_role("button", name=f"Delete Lyon weekend {tag}").click()
    page.locator(".sidebar").get_by_text("No sessions yet.").wait_for(state="attached")
    titles = [
        s["title"]
        for s in httpx.get(f"{gateway.url}/v1/sessions?limit=100", headers=headers).json()["data"]
    ]
    assert f"Tax forms {tag}" in titles and f"Lyon weekend {tag}" not in titles
