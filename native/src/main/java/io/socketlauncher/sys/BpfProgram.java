package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
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
    /** enum bpf_attach_type values of the TC hooks (BPF_TCX_INGRESS, BPF_TCX_EGRESS; kernel 6.6 and later). */
    public static final int TCX_INGRESS = 46, TCX_EGRESS = 47;

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

    /** struct bpf_test_run_opts (libbpf 1.x): its size and the offsets of the fields a syscall program's run uses. */
    private static final long RUN_OPTS_SIZE = 80, RUN_CTX_IN = 32, RUN_CTX_SIZE_IN = 48, RUN_RETVAL = 56;

    /**
     * Runs a syscall program ({@code SEC("syscall")}) once with {@code argument} as its context (BPF_PROG_RUN); the
     * program may change it, and the changes are copied back into {@code argument}. Returns the program's return
     * value.
     */
    public int run(byte[] argument) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment context = arena.allocate(Math.max(1, argument.length), 8);
            MemorySegment.copy(argument, 0, context, JAVA_BYTE, 0, argument.length);
            MemorySegment opts = arena.allocate(RUN_OPTS_SIZE, 8);
            opts.set(JAVA_LONG, 0, RUN_OPTS_SIZE);
            // The kernel copies the context back into ctx_in: a syscall program refuses a ctx_out.
            opts.set(ADDRESS, RUN_CTX_IN, context);
            opts.set(JAVA_INT, RUN_CTX_SIZE_IN, argument.length);
            int r;
            try {
                r = (int) Libbpf.PROG_TEST_RUN.invokeExact(fd(), opts);
            } catch (Throwable t) {
                throw Libc.linkageFailure(t);
            }
            Libbpf.check("bpf_prog_test_run_opts(" + name + ")", r);
            MemorySegment.copy(context, JAVA_BYTE, 0, argument, 0, argument.length);
            return opts.get(JAVA_INT, RUN_RETVAL);
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

    /** Where a TCX link goes in its hook's chain of programs. */
    public enum TcxPosition {
        /** Before every program already there: it sees each packet before any of them can end the chain. */
        FIRST,
        /** After every program already there. */
        LAST
    }

    /** BPF_F_BEFORE of uapi 6.6+ (newer than this machine's headers): with no relative program, the front. */
    private static final int BPF_F_BEFORE = 1 << 3;

    /**
     * Attaches to the TC ingress or egress of an interface as a TCX link (attach type {@link #TCX_INGRESS} or
     * {@link #TCX_EGRESS}), first or last among the programs already there. Unlike a clsact filter, the link is the
     * attachment: closing it (or the death of the process holding it) detaches this program alone, and other
     * programs on the same hook stay. Return codes keep their TC meaning (TC_ACT_OK passes and ends the chain,
     * TC_ACT_SHOT drops, TC_ACT_REDIRECT redirects, TC_ACT_UNSPEC hands the packet to the next program).
     */
    public BpfLink attachTcx(int ifindex, int attachType, TcxPosition position) throws NativeException {
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = MemorySegment.NULL;
            if (position == TcxPosition.FIRST) {
                // struct bpf_link_create_opts as far as flags: sz (size_t), flags (u32), padding.
                opts = arena.allocate(16, 8);
                opts.set(JAVA_LONG, 0, 16);
                opts.set(JAVA_INT, 8, BPF_F_BEFORE);
            }
            fd = (int) Libbpf.LINK_CREATE.invokeExact(fd(), ifindex, attachType, opts);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        Libbpf.check("bpf_link_create(" + name + ", ifindex " + ifindex + ", attach type " + attachType + ", " + position + ")", fd);
        return new BpfLink(fd, name);
    }

    /** Ids of the programs attached to a TCX hook of an interface, in the order they run. */
    public static int[] tcxProgramIds(int ifindex, int attachType) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            int capacity = 64;
            MemorySegment ids = arena.allocate(JAVA_INT, capacity);
            MemorySegment count = arena.allocate(JAVA_INT);
            count.set(JAVA_INT, 0, capacity);
            int r = (int) Libbpf.PROG_QUERY.invokeExact(ifindex, attachType, 0, MemorySegment.NULL, ids, count);
            Libbpf.check("bpf_prog_query(ifindex " + ifindex + ", attach type " + attachType + ")", r);
            return ids.asSlice(0, JAVA_INT.byteSize() * Math.min(capacity, count.get(JAVA_INT, 0))).toArray(JAVA_INT);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
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
