package io.socketlauncher.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An attachment of a program (e.g. to a cgroup or a TCX hook). The kernel keeps a link while an fd or a bpffs
 * pin refers to it: closing an unpinned link, or the death of the process holding it, detaches the program;
 * closing a pinned one only releases this handle.
 */
public final class BpfLink implements AutoCloseable {
    /** A libbpf struct bpf_link, or NULL for a link libbpf 1.1 cannot wrap (TCX): then {@link #fd} is the link. */
    private final MemorySegment link;
    private final int fd;
    private final String name;
    private boolean closed;

    BpfLink(MemorySegment link, String name) {
        this.link = link;
        this.fd = -1;
        this.name = name;
    }

    BpfLink(int fd, String name) {
        this.link = MemorySegment.NULL;
        this.fd = fd;
        this.name = name;
    }

    /** Opens a link pinned in bpffs, so it can be detached by a later process. */
    public static BpfLink openPinned(String path) throws NativeException {
        Libc.Scratch s = Libc.scratch();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment link = (MemorySegment) Libbpf.LINK_OPEN.invokeExact(s.errno, arena.allocateFrom(path));
            if (link.equals(MemorySegment.NULL)) throw Libc.error("bpf_link__open(" + path + ")", s);
            return new BpfLink(link, path);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    /** Pins the link, so the attachment outlives this process. */
    public void pin(String path) throws NativeException {
        if (fd >= 0) {
            BpfProgram.objPin(fd, path);
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            int r = (int) Libbpf.LINK_PIN.invokeExact(link, arena.allocateFrom(path));
            Libbpf.check("bpf_link__pin(" + name + " at " + path + ")", r);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    /** Detaches the program now, even if the link is pinned (the link stays, defunct, until closed and unpinned). */
    public void detach() throws NativeException {
        try {
            int linkFd = fd >= 0 ? fd : (int) Libbpf.LINK_FD.invokeExact(link);
            int r = (int) Libbpf.LINK_DETACH.invokeExact(linkFd);
            Libbpf.check("bpf_link_detach(" + name + ")", r);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    /** Closes this handle: detaches the program unless the link is pinned. A second close does nothing. */
    @Override
    public synchronized void close() {
        if (closed) return;
        // A second close of the fd would close whatever the number has been reused for since.
        closed = true;
        if (fd >= 0) {
            Libc.closeQuietly(fd);
            return;
        }
        try {
            int ignored = (int) Libbpf.LINK_DESTROY.invokeExact(link);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }
}
