package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A BPF program of a loaded {@link BpfObject}, and the ways to attach it. */
public final class BpfProgram {
    /** enum bpf_prog_type values used here. */
    public static final int TYPE_SCHED_CLS = 3, TYPE_XDP = 6, TYPE_CGROUP_SOCK_ADDR = 18;
    /** XDP attach flags. */
    public static final int XDP_FLAGS_UPDATE_IF_NOEXIST = 1, XDP_FLAGS_SKB_MODE = 2, XDP_FLAGS_DRV_MODE = 4;
    /** enum bpf_tc_attach_point. */
    public static final int TC_INGRESS = 1, TC_EGRESS = 2;

    private final MemorySegment program;
    private final String name;

    BpfProgram(MemorySegment program, String name) {
        this.program = program;
        this.name = name;
    }

    public String name() {
        return name;
    }

    public int fd() {
        try {
            return (int) Libbpf.PROGRAM_FD.invokeExact(program);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    /** Before load, for a section name libbpf does not know. */
    public void setType(int type) throws NativeException {
        int r;
        try {
            r = (int) Libbpf.PROGRAM_SET_TYPE.invokeExact(program, type);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        Libbpf.check("bpf_program__set_type(" + name + ")", r);
    }

    /** Attaches to a cgroup (an open fd of its directory); the link dies with its fd unless pinned. */
    public BpfLink attachCgroup(int cgroupFd) throws NativeException {
        Libc.Scratch s = Libc.scratch();
        MemorySegment link;
        try {
            link = (MemorySegment) Libbpf.PROGRAM_ATTACH_CGROUP.invokeExact(s.errno, program, cgroupFd);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (link.equals(MemorySegment.NULL)) throw Libc.error("bpf_program__attach_cgroup(" + name + ")", s);
        return new BpfLink(link, name);
    }

    /** Attaches as the XDP program of an interface; it stays attached until {@link #detachXdp}. */
    public void attachXdp(int ifindex, int flags) throws NativeException {
        int r;
        try {
            r = (int) Libbpf.XDP_ATTACH.invokeExact(ifindex, fd(), flags, MemorySegment.NULL);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        Libbpf.check("bpf_xdp_attach(" + name + ", ifindex " + ifindex + ")", r);
    }

    public static void detachXdp(int ifindex, int flags) throws NativeException {
        int r;
        try {
            r = (int) Libbpf.XDP_DETACH.invokeExact(ifindex, flags, MemorySegment.NULL);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        Libbpf.check("bpf_xdp_detach(ifindex " + ifindex + ")", r);
    }

    /**
     * Attaches as a TC classifier (direct action) on the clsact qdisc of an interface, creating the
     * qdisc if needed. It stays attached until {@link #detachTc}.
     */
    public void attachTc(int ifindex, int attachPoint, int priority) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hook = tcHook(arena, ifindex, attachPoint);
            int r = (int) Libbpf.TC_HOOK_CREATE.invokeExact(hook);
            if (r != -Errno.EEXIST) Libbpf.check("bpf_tc_hook_create(ifindex " + ifindex + ")", r);
            MemorySegment opts = arena.allocate(32, 8);
            opts.set(JAVA_LONG, 0, 32);
            opts.set(JAVA_INT, 8, fd());
            opts.set(JAVA_INT, 24, priority);
            opts.set(JAVA_INT, 20, 1);
            r = (int) Libbpf.TC_ATTACH.invokeExact(hook, opts);
            Libbpf.check("bpf_tc_attach(" + name + ", ifindex " + ifindex + ")", r);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    /** Removes the clsact qdisc of the interface, and with it every TC program on it. */
    public static void detachTc(int ifindex) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hook = tcHook(arena, ifindex, TC_INGRESS | TC_EGRESS);
            int r = (int) Libbpf.TC_HOOK_DESTROY.invokeExact(hook);
            if (r != -Errno.ENOENT) Libbpf.check("bpf_tc_hook_destroy(ifindex " + ifindex + ")", r);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    private static MemorySegment tcHook(Arena arena, int ifindex, int attachPoint) {
        MemorySegment hook = arena.allocate(24, 8);
        hook.set(JAVA_LONG, 0, 24);
        hook.set(JAVA_INT, 8, ifindex);
        hook.set(JAVA_INT, 12, attachPoint);
        return hook;
    }

    public void pin(String path) throws NativeException {
        objPin(fd(), path);
    }

    static void objPin(int fd, String path) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            int r = (int) Libbpf.OBJ_PIN.invokeExact(fd, arena.allocateFrom(path));
            Libbpf.check("bpf_obj_pin(" + path + ")", r);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    static int objGet(String path) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            int r = (int) Libbpf.OBJ_GET.invokeExact(arena.allocateFrom(path));
            Libbpf.check("bpf_obj_get(" + path + ")", r);
            return r;
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    @Override
    public String toString() {
        return "BPF program " + name;
    }
}
