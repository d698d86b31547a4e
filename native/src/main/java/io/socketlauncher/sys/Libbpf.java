package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * libbpf 1.x through FFM. Int-returning functions give a negative errno; pointer-returning ones give
 * NULL and set errno. Callers use the plain objects {@link BpfObject}, {@link BpfMap}, {@link BpfProgram}
 * and {@link BpfLink}, never this class.
 */
final class Libbpf {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIB = SymbolLookup.libraryLookup("libbpf.so.1", Arena.global());

    static final MethodHandle OBJECT_OPEN_MEM = pointer("bpf_object__open_mem", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
    static final MethodHandle OBJECT_LOAD = plain("bpf_object__load", JAVA_INT, ADDRESS);
    static final MethodHandle OBJECT_CLOSE = plain("bpf_object__close", null, ADDRESS);
    static final MethodHandle FIND_MAP = plain("bpf_object__find_map_by_name", ADDRESS, ADDRESS, ADDRESS);
    static final MethodHandle FIND_PROGRAM = plain("bpf_object__find_program_by_name", ADDRESS, ADDRESS, ADDRESS);
    static final MethodHandle MAP_FD = plain("bpf_map__fd", JAVA_INT, ADDRESS);
    static final MethodHandle MAP_SET_PIN_PATH = plain("bpf_map__set_pin_path", JAVA_INT, ADDRESS, ADDRESS);
    static final MethodHandle MAP_SET_MAX_ENTRIES = plain("bpf_map__set_max_entries", JAVA_INT, ADDRESS, JAVA_INT);
    static final MethodHandle MAP_REUSE_FD = plain("bpf_map__reuse_fd", JAVA_INT, ADDRESS, JAVA_INT);
    static final MethodHandle MAP_KEY_SIZE = plain("bpf_map__key_size", JAVA_INT, ADDRESS);
    static final MethodHandle MAP_VALUE_SIZE = plain("bpf_map__value_size", JAVA_INT, ADDRESS);
    static final MethodHandle PROGRAM_FD = plain("bpf_program__fd", JAVA_INT, ADDRESS);
    static final MethodHandle PROGRAM_SET_TYPE = plain("bpf_program__set_type", JAVA_INT, ADDRESS, JAVA_INT);
    static final MethodHandle PROGRAM_SET_EXPECTED_ATTACH = plain("bpf_program__set_expected_attach_type", JAVA_INT, ADDRESS, JAVA_INT);
    static final MethodHandle PROGRAM_ATTACH_CGROUP = pointer("bpf_program__attach_cgroup", ADDRESS, ADDRESS, JAVA_INT);
    static final MethodHandle LINK_PIN = plain("bpf_link__pin", JAVA_INT, ADDRESS, ADDRESS);
    static final MethodHandle LINK_DESTROY = plain("bpf_link__destroy", JAVA_INT, ADDRESS);
    static final MethodHandle LINK_OPEN = pointer("bpf_link__open", ADDRESS, ADDRESS);
    static final MethodHandle LINK_FD = plain("bpf_link__fd", JAVA_INT, ADDRESS);
    static final MethodHandle LINK_DETACH = plain("bpf_link_detach", JAVA_INT, JAVA_INT);
    static final MethodHandle XDP_ATTACH = plain("bpf_xdp_attach", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    static final MethodHandle XDP_DETACH = plain("bpf_xdp_detach", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    /** libbpf 1.1 has no bpf_program__attach_tcx; its low-level call passes any attach type through. */
    static final MethodHandle LINK_CREATE = plain("bpf_link_create", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    static final MethodHandle PROG_TEST_RUN = plain("bpf_prog_test_run_opts", JAVA_INT, JAVA_INT, ADDRESS);
    static final MethodHandle PROG_QUERY = plain("bpf_prog_query", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    static final MethodHandle MAP_UPDATE = heap("bpf_map_update_elem", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
    static final MethodHandle MAP_LOOKUP = heap("bpf_map_lookup_elem", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    static final MethodHandle MAP_DELETE = heap("bpf_map_delete_elem", JAVA_INT, JAVA_INT, ADDRESS);
    static final MethodHandle MAP_NEXT_KEY = heap("bpf_map_get_next_key", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    static final MethodHandle OBJ_PIN = plain("bpf_obj_pin", JAVA_INT, JAVA_INT, ADDRESS);
    static final MethodHandle OBJ_GET = plain("bpf_obj_get", JAVA_INT, ADDRESS);
    static final MethodHandle PROG_ATTACH = plain("bpf_prog_attach", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    static final MethodHandle PROG_DETACH2 = plain("bpf_prog_detach2", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    static final MethodHandle NUM_POSSIBLE_CPUS = plain("libbpf_num_possible_cpus", JAVA_INT);

    private Libbpf() {}

    private static FunctionDescriptor descriptor(MemoryLayout result, MemoryLayout... args) {
        return result == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(result, args);
    }

    private static MethodHandle plain(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LIB.find(name).orElseThrow(() -> new IllegalStateException("libbpf lacks " + name)),
                descriptor(result, args));
    }

    /** Pointer-returning calls report failure through errno, so it is captured. */
    private static MethodHandle pointer(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LIB.find(name).orElseThrow(), descriptor(result, args),
                Linker.Option.captureCallState("errno"));
    }

    /** Map element calls are short syscalls: keys and values are read from and written to the heap in place. */
    private static MethodHandle heap(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LIB.find(name).orElseThrow(), descriptor(result, args), Linker.Option.critical(true));
    }

    static void check(String call, int result) throws NativeException {
        if (result < 0) throw new NativeException(call, -result);
    }

    static int possibleCpus() {
        try {
            return (int) NUM_POSSIBLE_CPUS.invokeExact();
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }
}
