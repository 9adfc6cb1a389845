"""A fake city 12345 platform, run as its own process: it pushes orders, serves them to the
poller, records what qisu reports back, and misbehaves on purpose when told to.

    python -m tests.integration.fake_platform --port 9345 --secret s3cret

Control (JSON over HTTP): POST /control/orders {count, start, bad} adds orders to the pull feed
or the push queue; POST /control/push {url, start, count, duplicates, shuffle, workers} pushes
orders to qisu in a background thread, retrying until qisu answers; POST /control/misbehave
{fail_rate, timeout_rate, hang_seconds, outage_seconds, page_overlap, shuffle_pages};
POST /control/retarget {url} points the pushers at a restarted qisu; POST /control/change
{n, minutes, withdraw, text, push_url, copies} issues a new version of order n (changed, or
withdrawn: 撤单) `minutes` after the first, into the pull feed or pushed; GET /control/report.
"""

import argparse
import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
SHANGHAI = timedelta(hours=8)


def credit_code(n: int) -> str:
    """A valid unified social credit code for order n (GB 32100-2015 check character)."""
    first17 = f"91310114MA2{n:06d}"
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return first17 + ALPHABET[(31 - total % 31) % 31]


def order(n: int, *, bad: bool = False) -> dict[str, Any]:
    """Work order n in the platform's own field names and codes."""
    received = datetime(2026, 11, 2, 1, 0, tzinfo=UTC) + timedelta(minutes=n) + SHANGHAI
    return {
        "gdbh": f"SH{n:07d}",
        "slsj": received.strftime("%Y-%m-%d %H:%M:%S"),
        "qyxx": {"tyshxydm": credit_code(n), "qymc": f"上海平台测试企业{n}有限公司"},
        "lxr": "王先生",
        "lxdh": f"137{n:08d}",
        "fsdz": f"嘉定区安亭镇墨玉路{n}号",
        "bt": f"平台工单{n}",
        "sqnr": f"第{n}号平台工单：我司办理经营许可事项遇到困难，请相关部门协调处理。",
        # An unmappable appeal-type code, for the dead letters.
        "sqlx": "99" if bad else "03",
        "jjcd": "1",
        "gdzt": "0",  # 正常
        "gxsj": received.strftime("%Y-%m-%d %H:%M:%S"),  # its version: the last change's time
    }


def version(
    n: int, *, minutes: int, withdraw: bool = False, text: str | None = None
) -> dict[str, Any]:
    """Order n as the platform sends it again after a change or a withdrawal (撤单)."""
    changed = order(n)
    first = datetime.strptime(changed["gxsj"], "%Y-%m-%d %H:%M:%S")
    changed["gxsj"] = (first + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")
    changed["gdzt"] = "9" if withdraw else "1"
    if withdraw:
        changed["cdyy"] = "企业已自行解决，申请撤单"
    if text is not None:
        changed["sqnr"] = text
    return changed


def sign(secret: str, stamp: int | str, nonce: str, body: bytes) -> str:
    """The HMAC-SHA256 of `<timestamp>.<nonce>.<body>`, hex."""
    message = f"{stamp}.{nonce}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class Platform:
    """The fake platform's state, shared by its request handlers and its pusher threads."""

    def __init__(self, secret: str, seed: int) -> None:
        self.secret = secret
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.feed: list[dict[str, Any]] = []  # the pull feed, in change order
        self.fail_rate = 0.0
        self.timeout_rate = 0.0
        self.hang_seconds = 0.0
        self.outage_until = 0.0
        self.page_overlap = 0
        self.shuffle_pages = False
        self.steps: dict[str, list[dict[str, Any]]] = {}  # order id -> reports, first copies
        self.keys: set[str] = set()
        self.duplicates = 0
        self.injected = {"500": 0, "timeout": 0, "outage": 0}
        self.refused_signatures = 0
        self.truncated = 0  # bodies cut short: the sender died mid-request (kill -9)
        self.pages_served = 0
        self.push_results: dict[str, int] = {}
        self.pushers: list[threading.Thread] = []
        self.push_url = ""  # where pushes go; a restarted qisu may listen elsewhere

    def misbehaving(self) -> str | None:
        """Which failure this request gets, if any."""
        with self.lock:
            if time.time() < self.outage_until:
                self.injected["outage"] += 1
                return "outage"
            roll = self.random.random()
            if roll < self.fail_rate:
                self.injected["500"] += 1
                return "500"
            if roll < self.fail_rate + self.timeout_rate:
                self.injected["timeout"] += 1
                return "timeout"
        return None

    def page(self, since: int, limit: int) -> dict[str, Any]:
        """Orders changed after `since`; an overlap repeats the last ones of the previous page."""
        with self.lock:
            start = max(since - self.page_overlap, 0)
            chosen = self.feed[start : start + limit]
            self.pages_served += 1
            shuffle = self.shuffle_pages
            rng = random.Random(self.pages_served)
        end = start + len(chosen)
        orders = list(chosen)
        if shuffle:
            rng.shuffle(orders)
        return {"orders": orders, "next_cursor": str(end), "has_more": end < len(self.feed)}

    def take_step(self, key: str, payload: dict[str, Any]) -> bool:
        """Record a report; False when its idempotency key was seen (a duplicate)."""
        with self.lock:
            if key in self.keys:
                self.duplicates += 1
                return False
            self.keys.add(key)
            self.steps.setdefault(payload["order_id"], []).append(payload)
            return True

    def push(self, url: str, orders: list[dict[str, Any]], workers: int) -> None:
        """Push orders to qisu from several threads, each retried until qisu takes it."""
        queue = list(orders)
        self.push_url = url

        def work() -> None:
            with httpx.Client(timeout=10) as client:
                while True:
                    with self.lock:
                        if not queue:
                            return
                        item = queue.pop(0)
                    self.push_one(client, item)

        threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        self.pushers.extend(threads)

    def push_one(self, client: httpx.Client, item: dict[str, Any]) -> None:
        body = json.dumps(item, ensure_ascii=False).encode()
        while True:
            stamp = int(time.time())  # each try is a new request with a new signature
            nonce = uuid.uuid4().hex
            headers = {
                "Content-Type": "application/json",
                "X-Qisu-Timestamp": str(stamp),
                "X-Qisu-Nonce": nonce,
                "X-Qisu-Signature": sign(self.secret, stamp, nonce, body),
            }
            try:
                status = client.post(self.push_url, content=body, headers=headers).status_code
            except httpx.HTTPError:
                status = 0  # qisu is down: try again shortly, as a platform's retry queue does
            with self.lock:
                self.push_results[str(status)] = self.push_results.get(str(status), 0) + 1
            if status in (200, 201, 422):
                return
            time.sleep(0.2)

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {
                "steps": self.steps,
                "duplicates": self.duplicates,
                "injected": dict(self.injected),
                "refused_signatures": self.refused_signatures,
                "truncated": self.truncated,
                "pages_served": self.pages_served,
                "push": dict(self.push_results),
                "pushing": sum(1 for t in self.pushers if t.is_alive()),
                "feed": len(self.feed),
            }


def handler(platform: Platform) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            return

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _fail(self, kind: str) -> None:
            if kind == "timeout":
                time.sleep(platform.hang_seconds)  # longer than qisu waits
            self._json(503 if kind == "outage" else 500, {"error": kind})

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/control/report":
                return self._json(200, platform.report())
            if url.path == "/api/orders":
                failure = platform.misbehaving()
                if failure:
                    return self._fail(failure)
                query = parse_qs(url.query)
                since = int((query.get("since") or ["0"])[0] or 0)
                limit = int((query.get("limit") or ["100"])[0])
                return self._json(200, platform.page(since, limit))
            return self._json(404, {"error": "no such path"})

        def do_POST(self) -> None:
            url = urlparse(self.path)
            raw = self._body()
            if len(raw) < int(self.headers.get("Content-Length") or 0):
                # The sender went away between its headers and its body, as a killed qisu does:
                # nobody is left to answer, and a cut body is no bad signature.
                with platform.lock:
                    platform.truncated += 1
                self.close_connection = True
                return
            if url.path == "/api/steps":
                return self._step(raw)
            body = json.loads(raw or b"{}")
            if url.path == "/control/orders":
                start, count = int(body.get("start", 0)), int(body["count"])
                bad = set(body.get("bad", []))
                made = [order(n, bad=n in bad) for n in range(start, start + count)]
                if body.get("feed", True):
                    with platform.lock:
                        platform.feed.extend(made)
                return self._json(200, {"feed": len(platform.feed)})
            if url.path == "/control/push":
                start, count = int(body["start"]), int(body["count"])
                bad = set(body.get("bad", []))
                made = [order(n, bad=n in bad) for n in range(start, start + count)]
                rng = random.Random(start)
                made += rng.sample(made, int(len(made) * float(body.get("duplicates", 0))))
                if body.get("shuffle"):
                    rng.shuffle(made)  # out of order
                platform.push(body["url"], made, int(body.get("workers", 4)))
                return self._json(200, {"pushing": len(made)})
            if url.path == "/control/change":
                made = [
                    version(int(body["n"]), minutes=int(body["minutes"]),
                            withdraw=bool(body.get("withdraw")), text=body.get("text"))
                ] * int(body.get("copies", 1))  # fmt: skip
                if body.get("push_url"):
                    platform.push(body["push_url"], made, 1)
                else:
                    with platform.lock:
                        platform.feed.extend(made)
                return self._json(200, {"feed": len(platform.feed)})
            if url.path == "/control/retarget":
                platform.push_url = body["url"]
                return self._json(200, {"ok": True})
            if url.path == "/control/misbehave":
                with platform.lock:
                    platform.fail_rate = float(body.get("fail_rate", platform.fail_rate))
                    platform.timeout_rate = float(body.get("timeout_rate", platform.timeout_rate))
                    platform.hang_seconds = float(body.get("hang_seconds", platform.hang_seconds))
                    platform.page_overlap = int(body.get("page_overlap", platform.page_overlap))
                    platform.shuffle_pages = bool(body.get("shuffle_pages", platform.shuffle_pages))
                    if "outage_seconds" in body:
                        platform.outage_until = time.time() + float(body["outage_seconds"])
                return self._json(200, {"ok": True})
            return self._json(404, {"error": "no such path"})

        def _step(self, raw: bytes) -> None:
            stamp = self.headers.get("X-Qisu-Timestamp", "0")
            expected = sign(platform.secret, stamp, self.headers.get("X-Qisu-Nonce", ""), raw)
            if not hmac.compare_digest(expected, self.headers.get("X-Qisu-Signature", "")):
                with platform.lock:
                    platform.refused_signatures += 1
                return self._json(401, {"error": "bad signature"})
            failure = platform.misbehaving()
            if failure == "timeout":
                # The step is taken, but the answer comes too late: qisu will send it again.
                platform.take_step(self.headers["Idempotency-Key"], json.loads(raw))
                return self._fail(failure)
            if failure:
                return self._fail(failure)
            fresh = platform.take_step(self.headers["Idempotency-Key"], json.loads(raw))
            return self._json(200, {"ok": True, "duplicate": not fresh})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake city 12345 platform for tests.")
    parser.add_argument("--port", type=int, required=True, help="Port to listen on.")
    parser.add_argument("--secret", required=True, help="The HMAC secret shared with qisu.")
    parser.add_argument("--seed", type=int, default=17, help="Seed of the misbehaviour.")
    args = parser.parse_args()
    platform = Platform(args.secret, args.seed)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(platform))
    server.daemon_threads = True
    print(f"fake platform on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()


class FakePlatformProcess:
    """The fake platform as a child process of a test, driven over HTTP."""

    def __init__(self, secret: str, log_dir: Any) -> None:
        self.secret = secret
        self.log_dir = log_dir
        self.process: Any = None
        self.url = ""

    def start(self) -> None:
        import socket
        import subprocess
        import sys

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = (self.log_dir / f"fake-platform-{port}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.fake_platform", "--port", str(port),
             "--secret", self.secret],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/control/report", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the fake platform did not start within 20 s")

    def control(self, path: str, **body: Any) -> Any:
        return httpx.post(f"{self.url}/control/{path}", json=body, timeout=10).json()

    def report(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/control/report", timeout=10).json()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.log.close()
