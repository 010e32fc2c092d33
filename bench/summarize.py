#!/usr/bin/env python3
"""Summarize one bench/run.sh result folder: medians per case and proxy, ratios bearer-proxy / nginx,
the issue's targets, the token check; prints a table, writes summary.md, summary.json and
(with --chart, when matplotlib is importable) ratios.png into the folder.

usage: summarize.py RUN_DIR [--chart|--no-chart]
"""
import csv, json, os, re, statistics, sys

rdir = sys.argv[1]
want_chart = "--no-chart" not in sys.argv[2:]
meta = json.load(open(os.path.join(rdir, "meta.json")))
CASE_TITLES = {
    "small64": "small, 64 conns",
    "small256": "small, 256 conns",
    "small4": "small, 4 conns",
    "small64log": "small 64, access logs, defaults",
    "large256": "1 MiB down, 256 conns",
    "upload256": "1 MiB up, 256 conns",
    "idle1000": "small 64 + 1000 idle",
    "newconn": "new conn per request, 64",
    "dpop": "small 64, DPoP proof per request",
}
PROXIES = ("nginx", "bearer-proxy")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def parse_wrk(path):
    text = open(path, errors="replace").read()
    r = {"requests": 0, "rps": 0.0, "p50": None, "p99": None, "non2xx": 0, "socket_errors": 0, "socket_detail": ""}
    if m := re.search(r"(\d+) requests in", text):
        r["requests"] = int(m.group(1))
    if m := re.search(r"Requests/sec:\s+([\d.]+)", text):
        r["rps"] = float(m.group(1))
    if m := re.search(r"^\s+50%\s+(\S+)", text, re.M):
        r["p50"] = ms(m.group(1))
    if m := re.search(r"^\s+99%\s+(\S+)", text, re.M):
        r["p99"] = ms(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        r["non2xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: (.*)", text):
        r["socket_detail"] = m.group(1).strip()
        r["socket_errors"] = sum(int(x) for x in re.findall(r"\d+", m.group(1)))
    return r


runs = []
with open(os.path.join(rdir, "runs.tsv")) as f:
    for row in csv.DictReader(f, delimiter="\t"):
        w = parse_wrk(row["raw"])
        n = w["requests"]
        w.update(case=row["case"], proxy=row["proxy"], round=int(row["round"]),
                 cpu_per_1k=(int(row["cpu_ms"]) * 1000 / n) if n else None,
                 hwm_mib=int(row["hwm_kib"]) / 1024,
                 idle_rss_mib=(int(row["idle_rss_kib"]) / 1024) if row["idle_rss_kib"] != "-" else None,
                 idle_result=row["idle_result"], steal_ms=int(row.get("steal_ms") or 0))
        runs.append(w)

cases = [c for c in meta["cases"].split() if any(r["case"] == c for r in runs)]
METRICS = [("rps", "req/s", "{:.0f}"), ("p50", "p50 ms", "{:.2f}"), ("p99", "p99 ms", "{:.2f}"),
           ("cpu_per_1k", "CPU ms/1k", "{:.1f}"), ("hwm_mib", "peak RSS MiB", "{:.1f}")]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


summary = {}
for c in cases:
    summary[c] = {}
    for p in PROXIES:
        rs = [r for r in runs if r["case"] == c and r["proxy"] == p]
        s = {k: med([r[k] for r in rs]) for k, _, _ in METRICS}
        s["rounds"] = len(rs)
        s["requests"] = sum(r["requests"] for r in rs)
        s["non2xx"] = sum(r["non2xx"] for r in rs)
        s["socket_errors"] = sum(r["socket_errors"] for r in rs)
        s["socket_detail"] = "; ".join(r["socket_detail"] for r in rs if r["socket_errors"])
        s["idle_rss_mib"] = med([r["idle_rss_mib"] for r in rs])
        s["idle_results"] = [r["idle_result"] for r in rs if r["idle_result"] != "-"]
        summary[c][p] = s
    summary[c]["ratio"] = {k: (summary[c]["bearer-proxy"][k] / summary[c]["nginx"][k])
                           if summary[c]["bearer-proxy"][k] is not None and summary[c]["nginx"][k] else None
                           for k, _, _ in METRICS}


def fmt(fmtstr, v):
    return "-" if v is None else fmtstr.format(v)


# --- main table ---------------------------------------------------------------------------------
header = ["case", "proxy"] + [t for _, t, _ in METRICS] + ["errors"]
rows = []
for c in cases:
    for p in PROXIES:
        s = summary[c][p]
        errs = s["non2xx"] + s["socket_errors"]
        rows.append([CASE_TITLES[c], p] + [fmt(f, s[k]) for k, _, f in METRICS] + [str(errs)])
    rows.append(["", "ratio bp/nginx"] + [fmt("{:.2f}x", summary[c]["ratio"][k]) for k, _, _ in METRICS] + [""])


def text_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(x).rjust(w) if i > 1 else str(x).ljust(w) for i, (x, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def md_table(header, rows):
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows])


# --- memory ---------------------------------------------------------------------------------------
def mib(kib):
    return kib / 1024


mem = [
    (f"RSS right after start (after one request; bearer-proxy: {meta['start_bp_anon_kib'] / 1024:.1f} anon + {meta['start_bp_file_kib'] / 1024:.1f} file-backed)", mib(meta["start_rss_kib"]["bearer-proxy"]), mib(meta["start_rss_kib"]["nginx"])),
    ("RSS at the end, idle", mib(meta["end_rss_kib"]["bearer-proxy"]), mib(meta["end_rss_kib"]["nginx"])),
]
if "idle1000" in summary:
    mem.append(("RSS with 1000 idle client connections (median)", summary["idle1000"]["bearer-proxy"]["idle_rss_mib"], summary["idle1000"]["nginx"]["idle_rss_mib"]))
for c, what in (("large256", "peak RSS, 256 concurrent 1 MiB downloads"), ("upload256", "peak RSS, 256 concurrent 1 MiB uploads")):
    if c in summary:
        mem.append((what + " (median)", summary[c]["bearer-proxy"]["hwm_mib"], summary[c]["nginx"]["hwm_mib"]))
mem_rows = [[w, fmt("{:.1f}", b), fmt("{:.1f}", n)] for w, b, n in mem]
mem_header = ["memory (MiB)", "bearer-proxy", "nginx (master+workers)"]

# --- token check ----------------------------------------------------------------------------------
tok = json.load(open(os.path.join(rdir, "token.json")))
times = tok.get("times", [])
lifetime, margin = meta["token_lifetime"], meta["refresh_margin"]
period = lifetime - min(margin, lifetime)
elapsed = tok["now"] - times[0] if times else 0
expected = 1 + int(elapsed // period) if period > 0 else None
gaps = [b - a for a, b in zip(times, times[1:])]
# Near a refresh boundary (within 3 s) the refresh may or may not have happened yet.
near = expected is not None and min(elapsed % period, period - elapsed % period) < 3
token_ok = bool(times) and expected is not None and abs(len(times) - expected) <= (1 if near else 0) \
    and all(g >= period - 3 for g in gaps)
token_line = (f"token requests: {len(times)} over {elapsed:.0f} s with a {lifetime} s token refreshed {margin} s early "
              f"(expected {expected}: one per {period} s); gaps between requests: "
              f"{', '.join(f'{g:.1f} s' for g in gaps) or 'none'} -> {'OK' if token_ok else 'NOT one per lifetime'}")

# --- targets --------------------------------------------------------------------------------------
targets = []


def target(what, value, ok, note=""):
    if value is not None:
        targets.append([what, value, "met" if ok else "MISSED", note])


for c in ("small64", "small256"):
    if c in summary:
        r = summary[c]["ratio"]
        if r["rps"] is not None:
            target(f"{CASE_TITLES[c]}: throughput >= 1.0x", f"{r['rps']:.2f}x", r["rps"] >= 1.0, "" if r["rps"] >= 1 else f"short by {(1 - r['rps']) * 100:.0f}%")
        if r["cpu_per_1k"] is not None:
            target(f"{CASE_TITLES[c]}: CPU/request <= 1.0x", f"{r['cpu_per_1k']:.2f}x", r["cpu_per_1k"] <= 1.0, "" if r["cpu_per_1k"] <= 1 else f"over by {(r['cpu_per_1k'] - 1) * 100:.0f}%")
        if r["p99"] is not None:
            target(f"{CASE_TITLES[c]}: p99 <= nginx", f"{r['p99']:.2f}x", r["p99"] <= 1.0, "" if r["p99"] <= 1 else f"over by {(r['p99'] - 1) * 100:.0f}%")
if "newconn" in summary:
    r = summary["newconn"]["ratio"]
    if r["rps"] is not None:
        target(f"{CASE_TITLES['newconn']}: throughput >= 1.0x", f"{r['rps']:.2f}x", r["rps"] >= 1.0, "" if r["rps"] >= 1 else f"short by {(1 - r['rps']) * 100:.0f}%")
for c in ("large256", "upload256"):
    if c in summary:
        r = summary[c]["ratio"]
        if r["rps"] is not None:
            target(f"{CASE_TITLES[c]}: throughput >= 0.9x", f"{r['rps']:.2f}x", r["rps"] >= 0.9, "" if r["rps"] >= 0.9 else f"short by {(0.9 - r['rps']) * 100:.0f} points")
        h = summary[c]["bearer-proxy"]["hwm_mib"]
        target(f"{CASE_TITLES[c]}: peak RSS < 64 MiB", f"{h:.1f} MiB", h < 64, "" if h < 64 else f"over by {h - 64:.1f} MiB")
if "dpop" in summary and "small64" in summary:
    # What a DPoP proof (one ES256 signature and its JSON) costs per request, against small64's
    # bearer-proxy in the same run; nginx is the same reference in both cases.
    d, b = summary["dpop"]["bearer-proxy"]["cpu_per_1k"], summary["small64"]["bearer-proxy"]["cpu_per_1k"]
    if d is not None and b is not None:
        target("DPoP: CPU per request over plain small64 (us)", f"{(d - b):.1f}", True, "one proof per request")
target("idle RSS < 16 MiB (right after start)", f"{mem[0][1]:.1f} MiB", mem[0][1] < 16, "" if mem[0][1] < 16 else f"over by {mem[0][1] - 16:.1f} MiB")
if "idle1000" in summary and summary["idle1000"]["bearer-proxy"]["idle_rss_mib"] is not None:
    v = summary["idle1000"]["bearer-proxy"]["idle_rss_mib"]
    target("RSS with 1000 idle connections < 48 MiB", f"{v:.1f} MiB", v < 48, "" if v < 48 else f"over by {v - 48:.1f} MiB")
target("one token request per token lifetime", f"{len(times)} (expected {expected})", token_ok)

# --- where the time goes: system calls and context switches per request (run.sh --counts) ---------
COUNT_COLUMNS = [  # (title, perf events summed)
    ("syscalls", ["raw_syscalls:sys_enter"]),
    ("ctx sw", ["context-switches"]),
    ("read", ["syscalls:sys_enter_read", "syscalls:sys_enter_readv", "syscalls:sys_enter_recvfrom", "syscalls:sys_enter_recvmsg"]),
    ("write", ["syscalls:sys_enter_write", "syscalls:sys_enter_writev", "syscalls:sys_enter_sendto", "syscalls:sys_enter_sendmsg"]),
    ("epoll_wait", ["syscalls:sys_enter_epoll_wait", "syscalls:sys_enter_epoll_pwait"]),
    ("epoll_ctl", ["syscalls:sys_enter_epoll_ctl"]),
    ("ioctl", ["syscalls:sys_enter_ioctl"]),
    ("futex", ["syscalls:sys_enter_futex"]),
    ("accept4", ["syscalls:sys_enter_accept4"]),
    ("close", ["syscalls:sys_enter_close"]),
]


def parse_perf(path):
    counts = {}
    for line in open(path, errors="replace"):
        f = line.strip().split(",")
        if len(f) > 2 and f[0].replace(".", "").isdigit():
            counts[f[2]] = counts.get(f[2], 0) + float(f[0])
    return counts


count_header, count_rows = None, []
counts_path = os.path.join(rdir, "counts.tsv")
if os.path.exists(counts_path):
    per = {}
    with open(counts_path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            n = parse_wrk(row["wrk"])["requests"]
            pc = parse_perf(row["perf"])
            if n:
                per[(row["case"], row["proxy"])] = [sum(pc.get(e, 0) for e in evs) / n for _, evs in COUNT_COLUMNS]
    count_header = ["per request", "proxy"] + [t for t, _ in COUNT_COLUMNS]
    for c in cases:
        if all((c, p) in per for p in PROXIES):
            for p in PROXIES:
                count_rows.append([CASE_TITLES[c], p] + [f"{v:.2f}" for v in per[(c, p)]])
            count_rows.append(["", "ratio bp/nginx"] + [fmt("{:.2f}x", b / n if n >= 0.01 and b >= 0.01 else None) for b, n in zip(per[(c, "bearer-proxy")], per[(c, "nginx")])])

# --- anomalies ------------------------------------------------------------------------------------
notes = []
for c in cases:
    for p in PROXIES:
        s = summary[c][p]
        if s["non2xx"]:
            notes.append(f"{p} {c}: {s['non2xx']} non-2xx responses of {s['requests']}")
        if s["socket_errors"]:
            notes.append(f"{p} {c}: socket errors ({s['socket_detail']})")
        for res in s["idle_results"]:
            d = dict(kv.split("=") for kv in res.split(",") if "=" in kv)
            if d.get("answered") != str(1000) or d.get("still_open") != str(1000):
                notes.append(f"{p} idle1000: idle clients {res}")
# Rounds the hypervisor slowed: steal time above 1% of the CPU time the round had (wall time x CPUs).
for c in cases:
    slowed = [f"{r['proxy']} r{r['round']} {r['steal_ms']} ms" for r in runs
              if r["case"] == c and r["steal_ms"] > 0.01 * float(meta["duration"]) * 1000 * int(meta.get("nproc") or os.cpu_count() or 1)]
    if slowed:
        notes.append(f"{c}: host steal time in {', '.join(slowed)} (the host ran others on these CPUs; "
                     f"compare with the other proxy's rounds)")
upload_log = os.path.join(rdir, "upload.log")
if os.path.exists(upload_log) and "upload256" in summary:
    # The upstream logs every upload it read: status, Content-Length, bytes read, sending proxy.
    # It finishes more than wrk counts: requests in flight when a run's time is up are not counted
    # by wrk but may still complete upstream (204) or be cut by the proxy closing (499).
    from collections import Counter
    lines = [l.split() for l in open(upload_log) if l.strip()]
    for p in PROXIES:
        mine = [l for l in lines if l[3] == p]
        partial = sum(1 for l in mine if not (l[1] == "1048576" and int(l[2]) > 1048576))
        by_status = ", ".join(f"{n} x {st}" for st, n in sorted(Counter(l[0] for l in mine).items()))
        notes.append(f"upstream read {len(mine)} uploads from {p} (wrk counted {summary['upload256'][p]['requests']} + 1 preflight): "
                     f"{by_status}; {partial} with an incomplete body")
# --- output ---------------------------------------------------------------------------------------
title = (f"bearer-proxy vs nginx, {meta['stamp']}, {meta['rounds']} rounds x {meta['duration']} s per case and proxy, "
         f"wrk -t{meta['wrk_threads']}, medians; load average at the end {meta['loadavg']}; bearer-proxy {meta['git']}")
out = [title, "", text_table(header, rows), "", text_table(mem_header, mem_rows), "", token_line, "",
       text_table(["target", "bearer-proxy", "", "note"], targets)]
if count_rows:
    out += ["", "where the time goes (one extra run per proxy under perf stat, not part of the figures above):",
            text_table(count_header, count_rows)]
if notes:
    out += ["", "notes:"] + ["  " + n for n in notes]
print("\n".join(out))

md = [f"_{title}_", "", md_table(header, rows), "", md_table(mem_header, mem_rows), "", token_line, "",
      md_table(["target", "bearer-proxy", "", "note"], targets)]
if count_rows:
    md += ["", "Where the time goes: system calls and context switches per request (one extra run per proxy under `perf stat`):", "",
           md_table(count_header, count_rows)]
if notes:
    md += [""] + ["- " + n for n in notes]
open(os.path.join(rdir, "summary.md"), "w").write("\n".join(md) + "\n")
json.dump({"meta": meta, "summary": summary, "token": {"count": len(times), "expected": expected, "gaps": gaps, "ok": token_ok},
           "targets": targets, "notes": notes, "runs": runs}, open(os.path.join(rdir, "summary.json"), "w"), indent=1)

# --- chart ----------------------------------------------------------------------------------------
if want_chart:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no chart: matplotlib is not installed; pip install matplotlib)", file=sys.stderr)
        sys.exit(0)
    fig, ax = plt.subplots(figsize=(10, 4.8), dpi=80)
    n = len(METRICS)
    width = 0.8 / n
    lo, hi = 1 / 8, 8  # log2 axis; bars start at 1.0 and are clipped to [1/8, 8] (the label keeps the value)
    for i, (k, t, _) in enumerate(METRICS):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(cases))]
        ys = [summary[c]["ratio"][k] for c in cases]
        shown = [min(max(y, lo), hi) if y else 1.0 for y in ys]
        ax.bar(xs, [s - 1 for s in shown], width, bottom=1.0, label=t)
        for x, y, s in zip(xs, ys, shown):
            if y:
                ax.text(x, s * (1.04 if s >= 1 else 0.96), f"{y:.2f}", ha="center", va="bottom" if s >= 1 else "top", fontsize=6, rotation=90)
    ax.set_yscale("log", base=2)
    ax.set_ylim(lo / 1.5, hi * 1.5)
    ax.set_yticks([1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8])
    ax.set_yticklabels(["1/8", "1/4", "1/2", "1", "2", "4", "8"])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([CASE_TITLES[c] for c in cases], fontsize=8)
    ax.set_ylabel("bearer-proxy / nginx (log scale)")
    ax.set_title("bearer-proxy / nginx, medians (req/s: higher is better; latency, CPU, RSS: lower is better)\n"
                 + f"{meta['stamp']}, {meta['rounds']} rounds x {meta['duration']} s, load average at the end {meta['loadavg']}", fontsize=9)
    ax.legend(fontsize=7, ncol=n, loc="upper left")
    fig.tight_layout()
    fig.savefig(os.path.join(rdir, "ratios.png"))
