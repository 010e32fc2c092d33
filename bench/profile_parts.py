#!/usr/bin/env python3
"""CPU time per request by part, from `perf script` output of a `perf record -g` (bench/profile.sh).

usage: profile_parts.py REQUESTS < perf-script-output   (prints one JSON object)

Each sample's period (nanoseconds of cpu-clock) goes to one part:
- kernel time, by the system call it was spent in (found in the sample's kernel stack), or
  scheduling on the way back to user space (preemption) and interrupts that came in while user
  code ran; a system call's share includes the sleeping it did (a futex or epoll_wait that slept);
- user time, by the function the sample is in: OpenSSL, the Swift runtime, libdispatch, libc,
  bearer-proxy's own code (parsing heads, building heads, the rest), or nginx's own code.
The samples of threads other than the loops' (libdispatch's manager thread, which re-arms and
delivers the loops' sources; thread names ending in "overcommit") are also summed apart.
"""
import collections
import json
import re
import sys

SYSCALL_GROUPS = {
    'send': {'write', 'writev', 'sendto', 'sendmsg', 'pwrite64', 'send'},
    'receive': {'read', 'readv', 'recvfrom', 'recvmsg', 'pread64', 'recv'},
    'epoll_wait': {'epoll_wait', 'epoll_pwait', 'epoll_pwait2'},
    'epoll_ctl': {'epoll_ctl'},
    'futex': {'futex'},
    'accept': {'accept', 'accept4', 'sys_accept4'},
    'close': {'close'},
}
OPENSSL = re.compile(r'^_?(SSL|ssl|tls|dtls|EVP|evp|aes|AES|gcm|GCM|CRYPTO|ERR|err_|BIO|bio|OPENSSL|OSSL|ossl|'
                     r'ctr|RAND|rand_|sha|SHA|EC|ec_|BN|bn_|HMAC|OBJ|int_|generic|do_ssl|cipher|lh_|OPENSSL_sk|'
                     r'WPACKET|wpacket|PACKET|get_error|setiv|getiv|RECORD|statem|md_|ctx_|ChaCha|chacha|Poly|poly|'
                     r'x25519|X509|x509|ASN1|asn1|PEM|EVP_|CONF|conf_|OPENSSL_|ecp_|ossl_|tls13|tls1|ssl3)')
PARSING = re.compile(r'HeadScanner|HeadParser|KnownField|firstNonFieldContent|firstNonTargetByte|contentLength|hasToken|'
                     r'firstValue|declaredFraming|bodyFraming|statusLine|requestLine|RequestTarget|HostAllowlist|'
                     r'ChunkedDecoder|BodyDecoder|isTchar')
BUILDING = re.compile(r'ForwardingRules|ByteWriter|appendName|HopFilter|ErrorResponse')


def user_part(symbol, dso):
    base = dso.rsplit('/', 1)[-1]
    if base.startswith('libssl') or base.startswith('libcrypto'):
        return 'OpenSSL'
    if base.startswith('libc.so') or base.startswith('libc-'):
        if re.search(r'malloc|free|_int_|tcache|unlink|consolidate|realloc|calloc', symbol):
            return 'libc: malloc and free'
        if re.search(r'mem(cpy|move|set|cmp|chr)|str(cmp|len|chr)', symbol):
            return 'libc: memcpy, memset, memchr, strcmp'
        return 'libc: other (system call wrappers, clocks)'
    if base.startswith('libdispatch') or symbol.startswith('_dispatch') or symbol.startswith('dispatch_'):
        return 'libdispatch'
    if base == 'nginx':
        return "nginx's own code"
    if base.startswith('[vdso]') or base == '[vdso]':
        return 'libc: other (system call wrappers, clocks)'
    if symbol.startswith('swift_retain') or symbol.startswith('swift_release') or 'RefCount' in symbol \
            or 'bridgeObject' in symbol or symbol.startswith('swift_unknownObject'):
        return 'Swift runtime: reference counting'
    if 'beginAccess' in symbol or 'endAccess' in symbol or 'AccessSet' in symbol or 'SwiftTLSContext' in symbol:
        return 'Swift runtime: exclusivity checks'
    if symbol.startswith('swift') or symbol.startswith('__swift') or 'metadata' in symbol.lower() or symbol.startswith('_swift'):
        return 'Swift runtime: other (allocation, metadata)'
    if OPENSSL.match(symbol):
        return 'OpenSSL'
    if PARSING.search(symbol):
        return 'bearer-proxy: parsing heads'
    if BUILDING.search(symbol):
        return 'bearer-proxy: building heads'
    if base.startswith('lib'):
        return 'other libraries'
    return 'bearer-proxy: sessions, connections, loops, pool, token, metrics, log'


def kernel_part(frames):
    """The system call a kernel sample was spent in: the kernel function right under
    `do_syscall_64` names it (the `__x64_sys_` wrapper is often inlined), and the first user
    frame tells libdispatch's eventfd writes and reads from socket ones."""
    for i, (symbol, _) in enumerate(frames):
        if not symbol.startswith('do_syscall_64'):
            continue
        under = frames[i - 1][0] if i > 0 else ''
        if under.startswith('exit_to_user_mode'):
            return OUTSIDE
        name = re.sub(r'^(__x64_sys_|__do_sys_|__se_sys_|ksys_|__sys_|do_)', '', under)
        if name == 'x64_sys_call':
            name = ''
        user = [s for s, d in frames[i + 1:i + 4] if not d.startswith('[kernel')]
        if any('eventfd' in s for s, _ in frames[:i]) or any('eventfd' in s for s in user):
            return 'kernel: eventfd (libdispatch re-arming its source)'
        if not name and user:
            name = re.sub(r'^(__GI___|__libc_|__)', '', user[0])
        for group, names in SYSCALL_GROUPS.items():
            if name in names:
                return 'kernel: ' + group
        return 'kernel: other system calls'
    return OUTSIDE


OUTSIDE = 'kernel: scheduling on the way back to user space, interrupts'


def main():
    requests = float(sys.argv[1])
    header = re.compile(r'^(.*?)\s+(\d+)(?:/(\d+))?\s+[\d.]+:\s+(\d+)\s+\S+')
    frame = re.compile(r'^\s+[0-9a-f]+\s+(.+?)\s+\((.*)\)\s*$')
    parts = collections.Counter()
    manager = 0
    total = 0
    comm, period, frames = None, 0, []

    def flush():
        nonlocal manager, total
        if comm is None or not frames:
            return
        symbol, dso = frames[0]
        if dso.startswith('[kernel') or symbol.startswith('entry_SYSCALL'):
            part = kernel_part(frames)
        else:
            part = user_part(symbol, dso)
        parts[part] += period
        total += period
        if comm.endswith('overcommit'):
            manager += period

    for line in sys.stdin.read().splitlines():
        if not line.strip():
            flush()
            comm, period, frames = None, 0, []
            continue
        h = header.match(line) if not line.startswith(('\t', ' ')) else None
        if h:
            flush()
            comm, period, frames = h.group(1).strip(), int(h.group(4)), []
            continue
        f = frame.match(line)
        if f and comm is not None:
            symbol = re.sub(r'\+0x[0-9a-f]+$', '', f.group(1))
            frames.append((symbol, f.group(2)))
    flush()
    # Swift symbols: perf prints them demangled or mangled; either holds the type names matched.
    result = {part: round(ns / requests / 1000, 2) for part, ns in parts.items()}
    result['total'] = round(total / requests / 1000, 2)
    result['of the total: libdispatch manager thread'] = round(manager / requests / 1000, 2)
    json.dump(result, sys.stdout)
    print()


if __name__ == '__main__':
    main()
