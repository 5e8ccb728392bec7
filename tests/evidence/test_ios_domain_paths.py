"""device_path's fast path (a relative path already normal) gives what joining and normalising gives."""

from __future__ import annotations

import posixpath

from hypothesis import example, given, settings
from hypothesis import strategies as st

from preuve.evidence.ios_domains import device_path, domain_root

PREFIXED = ("AppDomainGroup-", "AppDomainPlugin-", "AppDomain-", "SysContainerDomain-", "SysSharedContainerDomain-")


def reference(domain: str, relative_path: str) -> str | None:
    """The mapping written out the long way: join, normalise, refuse what leaves the root."""
    root = domain_root(domain)
    if root is None:
        if domain.startswith(PREFIXED) or not domain or "/" in domain or domain in (".", ".."):
            return None
        root = "/private/var/.backup-domains/" + domain
    rel = relative_path or ""
    if rel.startswith("/") or "\x00" in rel or ".." in rel.split("/"):
        return None
    path = posixpath.join(root, rel) if rel else root
    if "\x00" in path:
        return None
    joined = posixpath.normpath("/" + path.lstrip("/"))
    if joined.startswith("//"):
        joined = "/" + joined.lstrip("/")
    return None if ".." in joined.split("/") else joined


parts = st.sampled_from(["Library", "a", ".", "..", "", "b c", "x\x00", "é", "...", ".hidden", "SMS", "sms.db"])
domains = st.sampled_from(["HomeDomain", "AppDomain-com.x", "AppDomain-", "AppDomain-..", "AppDomainGroup-g", "Odd",
                           "Odd\x00", ".", "..", "", "a/b", "CameraRollDomain", "SysContainerDomain-s", "WeirdDomain-x"])


@settings(max_examples=600, deadline=None)
@example("HomeDomain", "a//b", "", "")
@example("HomeDomain", "a/./b", "", "")
@example("HomeDomain", "./a", "", "")
@example("HomeDomain", "a/.", "", "")
@example("HomeDomain", "a/..", "", "")
@example("HomeDomain", "a", "", "/")
@example("AppDomain-x", "a\x00", "", "")
@given(domains, st.lists(parts, max_size=5).map("/".join), st.sampled_from(["", "/", "//"]), st.sampled_from(["", "/"]))
def test_device_path_is_the_joined_normal_path(domain: str, middle: str, head: str, tail: str) -> None:
    rel = head + middle + tail
    assert device_path(domain, rel) == reference(domain, rel)
