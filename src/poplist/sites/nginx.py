"""`poplist sites nginx-config`: nginx serves the live deploys straight from the disk cache.

Each site gets a server block: its verified hostnames, `root` on its live deploy's own folder,
clean URLs with try_files, precompressed .gz files (and .br with --brotli), the site's 404.html,
its `_redirects` as rewrites (forced rules at server level, the others after the files, as
Poplist does) and its `_headers` as maps. Everything else goes to Poplist: the host's pages,
pending custom domains, unknown hostnames, suspended tenants' sites (503) and sites not yet deployed.

Why the deploy's folder (`trees/<hash>`, content-addressed: a path there names the same bytes
for as long as it exists) and not the site's live link: through the link, nginx resolved four
symlinks twice a request (try_files' stat, then open), and could not cache what it opened (a
moved link would have served the old deploy for open_file_cache_valid). With the folder, a deploy
or a rollback is a new file and a reload (graceful: each worker serves the old deploy, files and
rules, or the new one, whole), and open_file_cache cannot serve a stale deploy. Measured on
bench/sites.py's small page (one nginx worker, its CPU time per request, load average 5): plain
nginx on a plain folder 16.5 µs; this file through the live link 23.0 µs; on the deploy's folder
20.8 µs; that plus open_file_cache 13.5 µs. The worker rewrites the file and reloads nginx after
each change (POPLIST_SITES_NGINX_CONFIG).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from poplist.sites import cache, rules
from poplist.sites.models import Site

DEFAULT_CACHE_CONTROL = "public, max-age=0, must-revalidate"
TEXT_TYPES = "text/css text/plain text/javascript application/javascript application/json image/svg+xml"
# Per site and per nginx worker: open files (kept only when asked for twice within `inactive`),
# stats and misses of its deploy's folder. Each server block has its own cache, which nginx tidies
# at that site's requests: budget OPEN_FILES x sites file descriptors a worker (worker_rlimit_nofile).
OPEN_FILES = 16


def _quote(value: str, variables: bool = False) -> str:
    """An nginx string; a literal `$` becomes ${dollar} where nginx would read a variable."""
    text = value.replace("\\", "\\\\").replace('"', '\\"')
    if not variables:
        text = text.replace("$", "${dollar}")
    return f'"{text}"'


def _regex_quote(regex: str) -> str:
    return '"' + regex.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _regex(source: str) -> tuple[str, dict[str, int]]:
    """A rule's FROM as an nginx regex, with the capture number of each placeholder."""
    pattern = rules.pattern_regex(source).pattern
    groups: dict[str, int] = {}

    def numbered(match: re.Match) -> str:
        groups[match.group(1)] = len(groups) + 1
        return "("

    return re.sub(r"\(\?P<(\w+)>", numbered, pattern), groups


def _rewrite(rule: rules.Redirect) -> str:
    regex, groups = _regex(rule.source)
    target = _quote(rule.target)[1:-1]
    target = re.sub(r":(\w+)", lambda m: f"${groups[m.group(1)]}" if m.group(1) in groups else "", target)
    if rule.status == 404:
        return f"if ($uri ~ {_regex_quote(regex)}) {{ return 404; }}"
    flag = {301: "permanent", 302: "redirect", 200: "break"}[rule.status]
    return f'rewrite {_regex_quote(regex)} "{target}" {flag};'


def _rule_files(root: Path) -> tuple[list[rules.Redirect], list[rules.HeaderRule]]:
    out = []
    for name, parse in (("_redirects", rules.parse_redirects), ("_headers", rules.parse_headers)):
        try:
            out.append(parse((root / name).read_text("utf-8")))
        except (FileNotFoundError, rules.BadRules):
            out.append([])
    return out[0], out[1]


def _site_block(site: Site, hostnames: list[str], listen: str, maps: list[str], brotli: bool = False) -> list[str]:
    # The deploy's own folder, links resolved: what nginx opens never changes under it (see above).
    root = Path(os.path.realpath(cache.materialise_id(site.live_deploy_id, site.live_deploy.key)))
    redirects, header_rules = _rule_files(root)
    names = " ".join(hostnames)
    lines = [f"server {{  # site {site.name}, deploy {site.live_deploy.number}"]
    lines += [f"    listen {listen};", f"    server_name {names};", f"    root {root};"]
    lines += [
        f"    open_file_cache max={OPEN_FILES} inactive=60s;",
        "    open_file_cache_min_uses 2;",
        "    open_file_cache_errors on;",
    ]
    lines += [
        "    index index.html;",
        "    absolute_redirect off;",
        "    gzip_static on;",
        "    brotli_static on;"
        if brotli
        else "    # brotli_static on;  (with --brotli: needs the ngx_brotli module loaded)",
    ]
    lines += ["    charset utf-8;", f"    charset_types {TEXT_TYPES};", "    disable_symlinks off;"]
    by_name: dict[str, list[tuple[str, str]]] = {}
    for rule in header_rules:
        for name, value in rule.headers:
            # $request_uri is the path the visitor asked for (as Poplist matches), plus its query.
            regex = _regex(rule.source)[0].removesuffix("$") + r"(?:\?.*)?$"
            by_name.setdefault(name, []).append((regex, value))
    if "cache-control" not in {n.lower() for n in by_name}:
        lines.append(f'    add_header Cache-Control "{DEFAULT_CACHE_CONTROL}" always;')
    for index, (name, patterns) in enumerate(sorted(by_name.items())):
        variable = f"$poplist_s{site.id}_h{index}"
        default = DEFAULT_CACHE_CONTROL if name.lower() == "cache-control" else ""
        maps.append(f"map $request_uri {variable} {{")
        maps.append(f"    default {_quote(default)};")
        maps += [f"    {_regex_quote('~' + regex)} {_quote(value)};" for regex, value in patterns]
        maps.append("}")
        lines.append(f"    add_header {name} {variable} always;")
    lines += [f"    {_rewrite(rule)}" for rule in redirects if rule.force]
    lines += ["    location ~ ^/_(redirects|headers)$ { return 404; }"]
    lines += ["    location / {", "        try_files $uri $uri.html $uri/ @rules;", "    }"]
    lines += ["    location @rules {"]
    lines += [f"        {_rewrite(rule)}" for rule in redirects if not rule.force]
    lines += ["        return 404;", "    }"]
    has_404 = (root / "404.html").is_file()
    lines += ["    error_page 404 /404.html;" if has_404 else "    error_page 404 = @poplist;"]
    lines += ["    location @poplist {", "        proxy_pass http://poplist;", "    }", "}"]
    return lines


def _proxy_block(hostnames: list[str], listen: str, comment: str) -> list[str]:
    return [
        f"server {{  # {comment}",
        f"    listen {listen};",
        f"    server_name {' '.join(hostnames)};",
        "    location / { proxy_pass http://poplist; }",
        "}",
    ]


def options_of(text: str) -> dict:
    """The options a file was written with (the worker rewrites it with the same)."""
    found = re.search(r"--upstream (\S+) --listen (\S+?)( --brotli)?`", text.split("\n", 1)[0])
    if not found:
        return {}
    return {"upstream": found.group(1), "listen": found.group(2), "brotli": bool(found.group(3))}


def render_config(upstream: str = "127.0.0.1:8000", listen: str = "80", brotli: bool = False) -> str:
    """The whole configuration, for nginx's http{} context (e.g. /etc/nginx/conf.d/poplist-sites.conf).

    `brotli`: `brotli_static on` in each site (nginx must load ngx_http_brotli_static_module: on
    Debian, the package libnginx-mod-http-brotli-static; nginx-light alone does not have it).
    """
    flags = f"--upstream {upstream} --listen {listen}" + (" --brotli" if brotli else "")
    head = [
        f"# Written by `poplist sites nginx-config {flags}`; regenerate, do not edit.",
        f"upstream poplist {{ server {upstream}; keepalive 32; }}",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        "proxy_set_header Host $host;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        'geo $dollar { default "$"; }',
        *_proxy_block(["_"], f"{listen} default_server", "the host's own pages and unknown hostnames"),
    ]
    maps: list[str] = []
    blocks: list[str] = []
    sites = (
        Site.objects.select_related("tenant", "live_deploy")
        .defer("live_deploy__manifest")  # loaded only for a deploy not on this machine's disk yet
        .prefetch_related("hostnames")
        .order_by("name")
    )
    for site in sites.iterator(chunk_size=500):
        hostnames = [h.name for h in site.hostnames.all() if h.verified_at is not None]  # pending: Poplist's 404
        if not site.tenant.is_active:
            blocks += _proxy_block(hostnames, listen, f"site {site.name}: tenant suspended, Poplist answers 503")
        elif site.live_deploy is None:
            blocks += _proxy_block(hostnames, listen, f"site {site.name}: nothing deployed yet")
        else:
            blocks += _site_block(site, hostnames, listen, maps, brotli)
    return "\n".join([*head, *maps, *blocks]) + "\n"
