package io.socketlauncher.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An attachment of a program (e.g. to a cgroup). The kernel keeps a link while an fd or a bpffs pin refers to
 * it: closing an unpinned link detaches the program, closing a pinned one only releases this handle.
 */
public final class BpfLink implements AutoCloseable {
    private final MemorySegment link;
    private final String name;

    BpfLink(MemorySegment link, String name) {
        this.link = link;
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
        try (Arena arena = Arena.ofConfined()) {
            int r = (int) Libbpf.LINK_PIN.invokeExact(link, arena.allocateFrom(path));
            Libbpf.check("bpf_link__pin(" + name + " at " + path + ")", r);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    /** Closes this handle: detaches the program unless the link is pinned. */
    @Override
    public void close() {
        try {
            int ignored = (int) Libbpf.LINK_DESTROY.invokeExact(link);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }
}
