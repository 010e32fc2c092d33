#!/usr/bin/env python3
"""CPU time per request by part, from `perf script` output of a `perf record -e cpu-clock -g`
(bench/profile.sh).

usage: profile_parts.py REQUESTS < perf-script-output   (prints one JSON object)

Each sample's period (nanoseconds of cpu-clock) goes to one part:
- kernel time, by the system call it was spent in (the kernel function right under
  `do_syscall_64`), or scheduling on the way back to user space (preemption) and interrupts that
  came in while user code ran. A thread asleep is on no CPU and has no samples: a system call's
  share is the work it did, including switching into and out of a sleep, not the sleep;
- user time, by the function the sample is in: OpenSSL, the Swift runtime and standard library,
  libdispatch, libc, bearer-proxy's own code (parsing heads, building heads, the rest), nginx's
  own code. Swift names are demangled (`swift demangle`, when on PATH) and matched on the
  function's own name, not its parameter types.
Samples on threads other than the loops' (libdispatch's default-QoS workers) are also summed
apart: libdispatch's manager thread, which re-arms and delivers the loops' sources, and the
queues of timers, the log writer and the token.
"""
import collections
import json
import re
import shutil
import subprocess
import sys

SYSCALL_GROUPS = {
    'send': {'write', 'writev', 'sendto', 'sendmsg', 'pwrite64', 'send'},
    'receive': {'read', 'readv', 'recvfrom', 'recvmsg', 'pread64', 'recv'},
    'epoll_wait': {'epoll_wait', 'epoll_pwait', 'epoll_pwait2'},
    'epoll_ctl': {'epoll_ctl'},
    'futex': {'futex'},
    'accept': {'accept', 'accept4'},
    'close': {'close'},
}
OPENSSL = re.compile(r'^_{0,2}(SSL|ssl|tls|dtls|EVP|evp|aes|AES|gcm|GCM|CRYPTO|ERR|err_|BIO|bio|OPENSSL|OSSL|ossl|'
                     r'ctr|RAND|rand_|sha|SHA|EC|ec_|ecp_|BN|bn_|HMAC|OBJ|int_|generic|do_ssl|cipher|lh_|'
                     r'WPACKET|wpacket|PACKET|get_error|setiv|getiv|RECORD|statem|md_|ctx_|ChaCha|chacha|Poly|poly|'
                     r'x25519|X509|x509|ASN1|asn1|PEM|CONF|conf_|rsaz_|sock_read|sock_write|bread_conv|bwrite_conv|'
                     r'CBearerSSL_)')
PARSING = re.compile(r'HeadScanner|HeadParser|KnownField|firstNonFieldContent|firstNonTargetByte|contentLength|hasToken|'
                     r'firstValue|declaredFraming|bodyFraming|statusLine|requestLine|RequestTarget|HostAllowlist|'
                     r'ChunkedDecoder|BodyDecoder|isTchar')
BUILDING = re.compile(r'ForwardingRules|ByteWriter|appendName|HopFilter|ErrorResponse')
OURS = 'bearer-proxy: sessions, connections, loops, pool, token, metrics, log'
OUTSIDE = 'kernel: scheduling on the way back to user space, interrupts'


def own_name(demangled):
    """The function's own name: what comes before its parameter list ("closure #1 in X.f")."""
    return demangled.split('(', 1)[0]


def user_part(symbol, demangled, dso):
    base = dso.rsplit('/', 1)[-1]
    if base.startswith('libssl') or base.startswith('libcrypto'):
        return 'OpenSSL'
    if base.startswith('libc.so') or base.startswith('libc-') or base == '[vdso]':
        if re.search(r'malloc|free|_int_|tcache|unlink|consolidate|realloc|calloc', symbol):
            return 'libc: malloc and free'
        if re.search(r'mem(cpy|move|set|cmp|chr)|str(cmp|len|chr)', symbol):
            return 'libc: memcpy, memset, memchr, strcmp'
        return 'libc: other (system call wrappers, clocks)'
    if base.startswith('libdispatch') or re.match(r'_?_?dispatch_|_os_object|_Block_|\$s8Dispatch', symbol):
        return 'libdispatch'
    if base == 'nginx':
        return "nginx's own code"
    if base.startswith('lib') or base.startswith('ld-') or dso.startswith('['):
        return 'other libraries, unknown'
    name = own_name(demangled)
    if symbol.startswith('swift_retain') or symbol.startswith('swift_release') or 'RefCount' in symbol \
            or 'bridgeObject' in symbol or symbol.startswith('swift_unknownObject'):
        return 'Swift runtime: reference counting'
    if 'beginAccess' in symbol or 'endAccess' in symbol or 'AccessSet' in symbol or 'SwiftTLSContext' in symbol:
        return 'Swift runtime: exclusivity checks'
    if re.match(r'_{0,2}swift|swift::', symbol) or name.startswith('type metadata'):
        return 'Swift runtime: other (allocation, metadata)'
    if re.match(r'\$s[Ss]', symbol) or name.startswith(('Swift.', 'FoundationEssentials.')):
        return 'Swift standard library'
    if OPENSSL.match(symbol):
        return 'OpenSSL'
    if PARSING.search(name):
        return 'bearer-proxy: parsing heads'
    if BUILDING.search(name):
        return 'bearer-proxy: building heads'
    return OURS


def kernel_part(frames):
    """The system call a kernel sample was spent in, named by the kernel function right under
    `do_syscall_64` (or under `x64_sys_call` where the kernel dispatches through it); the eventfd
    that libdispatch writes and reads is told from socket reads and writes by its own functions."""
    symbols = [s for s, _ in frames]
    for i, symbol in enumerate(symbols):
        if not symbol.startswith('do_syscall_64'):
            continue
        under = symbols[i - 1] if i > 0 else ''
        if under == 'x64_sys_call':
            under = symbols[i - 2] if i > 1 else ''
        if 'exit_to_user_mode' in under:
            return OUTSIDE
        if any(s in ('eventfd_write', 'eventfd_read') for s in symbols[:i]):
            return 'kernel: eventfd (libdispatch re-arming its source)'
        name = re.sub(r'^(__x64_sys_|__do_sys_|__se_sys_|ksys_|__sys_|do_)', '', under)
        if not name or name == 'x64_sys_call':
            # A sample in the entry code itself: the libc wrapper above names the call.
            user = [s for s, d in frames[i + 1:i + 4] if not is_kernel(s, d)]
            if any('eventfd' in u for u in user):
                return 'kernel: eventfd (libdispatch re-arming its source)'
            name = re.sub(r'^(__GI___libc_|__GI___|__GI_|__libc_|__)', '', user[0]) if user else ''
            if 'futex' in name or name.startswith(('sem_', 'pthread_cond', 'pthread_mutex', 'lll_')) \
                    or (name == 'syscall' and any('futex' in u for u in user)):
                name = 'futex'
        for group, names in SYSCALL_GROUPS.items():
            if name in names:
                return 'kernel: ' + group
        return 'kernel: other system calls'
    return OUTSIDE


def demangler(symbols):
    """Demangled names of the Swift symbols, in one `swift demangle` run (identity without it)."""
    mangled = sorted(s for s in symbols if s.startswith('$s'))
    names = {s: s for s in symbols}
    tool = shutil.which('swift-demangle') or shutil.which('swift')
    if not mangled or not tool:
        return names
    args = [tool] if tool.endswith('swift-demangle') else [tool, 'demangle']
    try:
        out = subprocess.run(args + ['--simplified'], input='\n'.join(mangled) + '\n', capture_output=True,
                             text=True, timeout=120).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return names
    if len(out) == len(mangled):
        names.update(zip(mangled, out))
    return names


def is_kernel(symbol, dso):
    return (dso.startswith('[') and dso not in ('[vdso]', '[unknown]')) or symbol.startswith('entry_SYSCALL')


def main():
    requests = float(sys.argv[1])
    header = re.compile(r'^(\S.*?)\s+(\d+)(?:/(\d+))?\s+[\d.]+:\s+(\d+)\s+\S+')
    # "<address> <symbol>+0x<offset> (<dso>)": the symbol is everything up to the last " (".
    frame = re.compile(r'^\s+[0-9a-f]+\s+(.+)\s+\(([^()]*)\)\s*$')
    samples = []
    comm, period, frames = None, 0, []
    for line in sys.stdin.read().splitlines() + ['']:
        h = header.match(line)
        if h or not line.strip():
            if comm is not None and frames:
                samples.append((comm, period, frames))
            comm, period, frames = (h.group(1).strip(), int(h.group(4)), []) if h else (None, 0, [])
            continue
        f = frame.match(line)
        if f and comm is not None:
            frames.append((re.sub(r'\+0x[0-9a-f]+$', '', f.group(1)), f.group(2)))

    names = demangler({fr[0][0] for _, _, fr in samples if not is_kernel(*fr[0])})
    parts = collections.Counter()
    others = 0
    total = 0
    for comm, period, frames in samples:
        symbol, dso = frames[0]
        part = kernel_part(frames) if is_kernel(symbol, dso) else user_part(symbol, names.get(symbol, symbol), dso)
        parts[part] += period
        total += period
        if comm.endswith('overcommit'):
            others += period
    result = {part: round(ns / requests / 1000, 2) for part, ns in parts.items()}
    result['total'] = round(total / requests / 1000, 2)
    result['of the total: on libdispatch overcommit threads (its manager, timers, log writer)'] = round(others / requests / 1000, 2)
    json.dump(result, sys.stdout)
    print()


if __name__ == '__main__':
    main()
