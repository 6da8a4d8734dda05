/**
 * The spawn helper run by `python3` (see SpawnHelperLauncher for why and for the protocol). Each launch
 * is a `subprocess.Popen` with `start_new_session` (the replica leads its own session and process
 * group), stdin from /dev/null, stdout/stderr piped and relayed as frames; exits are noticed through
 * SIGCHLD (a wakeup fd in the select loop) and polled per process. The Popen objects are kept until
 * their exit is reported, so Python's own reaping never takes an exit status from us.
 */
export const SPAWN_HELPER_SCRIPT = `
import errno, json, os, selectors, signal, struct, subprocess, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
out = sys.stdout.buffer
sel = selectors.DefaultSelector()
procs = {}
wake_r, wake_w = os.pipe()
os.set_blocking(wake_r, False)
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w)
signal.signal(signal.SIGCHLD, lambda *_: None)

def send(kind, rid, data=b''):
    out.write(struct.pack('>cII', kind, rid, len(data)) + data)
    out.flush()

def launch(msg):
    rid = msg['id']
    try:
        p = subprocess.Popen(msg['args'], cwd=msg['cwd'], env=msg['env'], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as e:
        code = errno.errorcode.get(e.errno or 0, 'ERR')
        send(b'E', rid, json.dumps({'code': code, 'message': '%s %s' % (code, e.strerror)}).encode())
        return
    procs[rid] = p
    send(b'S', rid, str(p.pid).encode())
    for f, kind in ((p.stdout, b'O'), (p.stderr, b'R')):
        os.set_blocking(f.fileno(), False)
        sel.register(f.fileno(), selectors.EVENT_READ, (rid, kind, f))

def reap():
    for rid, p in list(procs.items()):
        code = p.poll()
        if code is None:
            continue
        del procs[rid]
        send(b'X', rid, (str(code) if code >= 0 else '- ' + signal.Signals(-code).name).encode())

def relay(key):
    rid, kind, f = key.data
    try:
        chunk = os.read(key.fd, 65536)
    except BlockingIOError:
        return
    if chunk:
        send(kind, rid, chunk)
    else:
        sel.unregister(key.fd)
        f.close()
        send(kind.lower(), rid)

stdin = sys.stdin.buffer.fileno()
sel.register(stdin, selectors.EVENT_READ, 'stdin')
sel.register(wake_r, selectors.EVENT_READ, 'wake')
pending = b''
while True:
    for key, _ in sel.select():
        if key.data == 'stdin':
            chunk = os.read(stdin, 65536)
            if not chunk:
                sys.exit(0)
            pending += chunk
            while b'\\n' in pending:
                line, pending = pending.split(b'\\n', 1)
                launch(json.loads(line))
        elif key.data == 'wake':
            try:
                os.read(wake_r, 512)
            except BlockingIOError:
                pass
            reap()
        else:
            relay(key)
`;
