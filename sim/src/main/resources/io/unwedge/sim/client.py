# A virtual DRM client of the unwedge simulator: opens a virtual node, maps it, and holds it.
# argv: NODE BEHAVIOUR(polite|stubborn|protected) MAPPING_ONLY(0|1) EXIT_AFTER_MS(0: never)
# Prints "ready <pid>" once it holds the node. On SIGTERM a polite (or protected) client unmaps, closes and
# exits 0; a stubborn one says so and keeps holding (only SIGKILL ends it).
import ctypes, os, signal, sys, threading

node, behaviour, mapping_only, exit_after_ms = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
libc = ctypes.CDLL(None, use_errno=True)
if behaviour == "protected":
    # comm is what the drain's protection matches; exec -a would change argv[0] only
    libc.prctl(15, b"Xwayland", 0, 0, 0)  # PR_SET_NAME
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
# ctypes, not the mmap module: Python's mmap keeps a dup of the descriptor, a real client need not
fd = os.open(node, os.O_RDWR)
addr = libc.mmap(None, 4096, 3, 1, fd, 0)  # PROT_READ|PROT_WRITE, MAP_SHARED; never touched: the node may be empty
if addr in (None, 2**64 - 1):
    print("mmap failed: errno %d" % ctypes.get_errno(), flush=True)
    sys.exit(1)
if mapping_only:
    os.close(fd)
    fd = -1

def release():
    libc.munmap(addr, 4096)
    if fd >= 0:
        os.close(fd)

def on_term(sig, frame):
    if behaviour == "stubborn":
        print("SIGTERM ignored", flush=True)
        return
    release()
    print("released on SIGTERM", flush=True)
    os._exit(0)

signal.signal(signal.SIGTERM, on_term)
if exit_after_ms > 0:
    def later():
        release()
        print("released and exiting on its own", flush=True)
        os._exit(0)
    threading.Timer(exit_after_ms / 1000.0, later).start()
print("ready %d" % os.getpid(), flush=True)
while True:
    signal.pause()
