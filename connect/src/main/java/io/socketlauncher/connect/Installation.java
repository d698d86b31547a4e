package io.socketlauncher.connect;

import io.socketlauncher.bpf.connect.ConnectProgram;
import io.socketlauncher.bpf.connect.ServicesMap;
import io.socketlauncher.sys.BpfLink;
import io.socketlauncher.sys.BpfObject;
import io.socketlauncher.sys.Bpffs;
import io.socketlauncher.sys.Libc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Loads the hooks once, pins their maps and their cgroup links under a bpffs directory, and removes
 * all of it again. Unpinning a link is what detaches it: nothing else holds it.
 */
public final class Installation {
    private static final String LINK_PREFIX = "link_";

    private Installation() {
    }

    public static boolean isInstalled(Path pinDir) {
        return Files.exists(pinDir.resolve(ServicesMap.NAME));
    }

    /** Idempotent: maps already pinned are reused, hooks already attached are left alone. */
    public static void install(Path pinDir, Path cgroup) throws IOException {
        if (isInstalled(pinDir) && ConnectProgram.PROGRAMS.stream().allMatch(p -> Files.exists(pinDir.resolve(LINK_PREFIX + p)))) return;
        if (!Files.exists(cgroup.resolve("cgroup.procs"))) {
            throw new IllegalArgumentException(cgroup + " is not a cgroup v2 directory");
        }
        boolean fresh = !Files.exists(pinDir);
        Bpffs.ensureMounted(pinDir);
        Files.createDirectories(pinDir);
        try (BpfObject object = ConnectProgram.open()) {
            for (String map : ConnectProgram.MAPS) object.map(map).setPinPath(pinDir.resolve(map).toString());
            object.load();
            int cgroupFd = Libc.open(cgroup.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
            try {
                for (String program : ConnectProgram.PROGRAMS) {
                    Path pin = pinDir.resolve(LINK_PREFIX + program);
                    if (Files.exists(pin)) continue;
                    // Closing a pinned link only closes our fd (the pin holds the attachment); disconnect()
                    // would leak that fd and keep the hooks attached after uninstall, for this process's life.
                    try (BpfLink link = object.program(program).attachCgroup(cgroupFd)) {
                        link.pin(pin.toString());
                    }
                }
            } finally {
                Libc.closeQuietly(cgroupFd);
            }
        } catch (IOException | RuntimeException e) {
            if (fresh) uninstall(pinDir);
            throw e;
        }
    }

    /** Detaches every hook and removes every pinned map: the balancing is gone, sockets keep working. */
    public static void uninstall(Path pinDir) throws IOException {
        if (!Files.isDirectory(pinDir)) return;
        List<Path> pins;
        try (Stream<Path> files = Files.list(pinDir)) {
            pins = files.toList();
        }
        for (Path p : pins) if (p.getFileName().toString().startsWith(LINK_PREFIX)) Files.delete(p);
        for (Path p : pins) Files.deleteIfExists(p);
        Files.delete(pinDir);
        Path parent = pinDir.getParent();
        if (parent != null && parent.getFileName().toString().equals("socket-launcher")) {
            try (Stream<Path> rest = Files.list(parent)) {
                if (rest.findAny().isEmpty()) Files.delete(parent);
            }
        }
    }
}
