"""Media bytes from a URL: data: (inline), http(s): (allow-listed hosts) or file: (one folder).

Remote fetches are guarded against server-side request forgery the way vLLM guards them: the
host must be listed, every address it resolves to must be public unless the address itself is
listed, the connection goes to the address that was checked (so a second DNS answer cannot
swap it), and each redirect is checked again. Sizes and time are bounded while reading.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urljoin, urlsplit, urlunsplit

import httpx

from galen.errors import BadRequest
from galen.media.policy import MediaPolicy

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class MediaBytes:
    """One media item as it arrived: its bytes and the MIME type its source gave, if any."""

    data: bytes
    mime: str | None = None

    def data_url(self, default_mime: str) -> str:
        """The bytes as a data: URL (how galen hands fetched media to vLLM)."""
        mime = self.mime or default_mime
        return f"data:{mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def load_media(url: str, policy: MediaPolicy, where: str) -> MediaBytes:
    """The bytes behind `url`; every refusal is a 400 naming `where` and saying how to fix it."""
    if not isinstance(url, str) or not url:
        raise BadRequest(where, "needs a non-empty url", code="invalid_media_url")
    scheme = urlsplit(url).scheme.lower()
    if scheme == "data":
        return _from_data_url(url, policy, where)
    if scheme in ("http", "https"):
        return _from_http(url, policy, where)
    if scheme == "file":
        return _from_file(url, policy, where)
    raise BadRequest(
        where,
        f"unsupported URL scheme {scheme + ':' if scheme else '(none)'}; send the media as a data: URL, "
        "an http(s): URL or a file: URL",
        code="invalid_media_url",
    )


def _too_large(where: str, size: int | str, policy: MediaPolicy) -> BadRequest:
    return BadRequest(
        where,
        f"the media is {size} bytes, more than the server's limit of {policy.max_bytes} "
        "(galen serve --max-media-bytes)",
        code="media_too_large",
    )


def _from_data_url(url: str, policy: MediaPolicy, where: str) -> MediaBytes:
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise BadRequest(where, "malformed data: URL; expected data:MIME;base64,DATA", code="invalid_media")
    params = header.split(";")
    if len(payload) * 3 // 4 > policy.max_bytes:
        raise _too_large(where, f"about {len(payload) * 3 // 4}", policy)
    if "base64" in params[1:]:
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(where, "the data: URL is not valid base64", code="invalid_media") from None
    else:
        data = unquote_to_bytes(payload)
    return MediaBytes(data, params[0].lower() or None)


def _from_file(url: str, policy: MediaPolicy, where: str) -> MediaBytes:
    if policy.allowed_local_path is None:
        raise BadRequest(
            where,
            "file: URLs are off on this server; start galen serve with --allowed-local-media-path DIR, "
            "or send the media as a data: URL",
            code="media_not_allowed",
        )
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise BadRequest(
            where, f"file: URLs must name a local path, not host {parts.netloc!r}", code="invalid_media_url"
        )
    root = policy.allowed_local_path.resolve()
    path = Path(unquote(parts.path)).resolve()  # follows symlinks and `..`, so neither escapes
    if not path.is_relative_to(root):
        raise BadRequest(
            where, f"{path} is outside the folder the server allows ({root})", code="media_not_allowed"
        )
    if not path.is_file():
        raise BadRequest(where, f"no file at {path}", code="invalid_media_url")
    size = path.stat().st_size
    if size > policy.max_bytes:
        raise _too_large(where, size, policy)
    return MediaBytes(path.read_bytes())


def _resolve(host: str, port: int, policy: MediaPolicy, where: str) -> IPAddress:
    """The address to connect to, after the allow-list and private-address checks."""
    name = host.lower().rstrip(".")
    if not policy.allowed_domains:
        raise BadRequest(
            where,
            "fetching media over http(s) is off on this server; start galen serve with "
            f"--allowed-media-domains {name}, or send the media as a data: URL",
            code="media_not_allowed",
        )
    if name not in policy.allowed_domains:
        raise BadRequest(
            where,
            f"host {name!r} is not in the server's --allowed-media-domains "
            f"({', '.join(policy.allowed_domains)})",
            code="media_not_allowed",
        )
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BadRequest(where, f"cannot resolve host {name!r}: {exc}", code="media_fetch_failed") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    listed = {str(a) for a in addresses} & set(policy.allowed_domains)
    for address in addresses:
        if not address.is_global and str(address) not in listed:
            raise BadRequest(
                where,
                f"host {name!r} resolves to the non-public address {address}; to fetch from it, list "
                f"the address itself in --allowed-media-domains",
                code="media_not_allowed",
            )
    return addresses[0]


def _pinned(url: str, address: IPAddress) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL rewritten to the checked address, with the Host header and TLS name it had."""
    parts = urlsplit(url)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{parts.port}" if parts.port else host
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1]}
    extensions = {"sni_hostname": parts.hostname or ""} if parts.scheme == "https" else {}
    return target, headers, extensions


def _from_http(url: str, policy: MediaPolicy, where: str) -> MediaBytes:
    deadline = time.monotonic() + policy.timeout
    with httpx.Client(timeout=policy.timeout, follow_redirects=False) as client:
        for _ in range(policy.max_redirects + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise BadRequest(
                    where, f"redirected to {url!r}, which is not an http(s) URL", code="media_not_allowed"
                )
            port = parts.port or (443 if parts.scheme == "https" else 80)
            target, headers, extensions = _pinned(url, _resolve(parts.hostname, port, policy, where))
            try:
                with client.stream("GET", target, headers=headers, extensions=extensions) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    return _read(response, policy, where, deadline)
            except httpx.TimeoutException:
                raise _timed_out(where, policy) from None
            except httpx.HTTPError as exc:
                raise BadRequest(
                    where, f"could not fetch the media: {exc}", code="media_fetch_failed"
                ) from None
    raise BadRequest(where, f"more than {policy.max_redirects} redirects", code="media_fetch_failed")


def _timed_out(where: str, policy: MediaPolicy) -> BadRequest:
    return BadRequest(
        where,
        f"the download took more than {policy.timeout:g} s (galen serve --media-timeout)",
        code="media_fetch_failed",
    )


def _read(response: httpx.Response, policy: MediaPolicy, where: str, deadline: float) -> MediaBytes:
    if response.status_code != 200:
        raise BadRequest(
            where, f"the media server answered HTTP {response.status_code}", code="media_fetch_failed"
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise _too_large(where, int(declared), policy)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > policy.max_bytes:
            raise _too_large(where, f"more than {len(body)}", policy)
        if time.monotonic() > deadline:
            raise _timed_out(where, policy)
    mime = response.headers.get("content-type", "").split(";")[0].strip().lower() or None
    return MediaBytes(bytes(body), mime)
