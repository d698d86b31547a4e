package io.socketlauncher.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Pins need bpffs at /sys/fs/bpf; minimal systems (this testbed's machines among them) boot without it mounted.
 * It is mounted in this process's mount namespace, where every thread sees it, whichever network namespace the
 * thread is in.
 */
public final class Bpffs {
    private static final Path MOUNT_POINT = Path.of("/sys/fs/bpf");

    private Bpffs() {
    }

    /**
     * Mounts bpffs at /sys/fs/bpf unless it is there. Synchronized: two mounts at once would stack two instances,
     * and pins made in the lower one would be out of sight.
     */
    public static synchronized void ensureMounted(Path pinDir) throws IOException {
        if (!pinDir.toAbsolutePath().startsWith(MOUNT_POINT)) {
            throw new IllegalArgumentException("pin directory " + pinDir + " is not under " + MOUNT_POINT);
        }
        if (isMounted()) return;
        Process p = new ProcessBuilder("mount", "-t", "bpf", "bpf", MOUNT_POINT.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        try {
            if (p.waitFor() != 0) throw new IOException("mount -t bpf bpf " + MOUNT_POINT + " failed: " + output.strip());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while mounting bpffs", e);
        }
    }

    private static boolean isMounted() throws IOException {
        List<String> mounts = Files.readAllLines(Path.of("/proc/self/mounts"));
        return mounts.stream().map(l -> l.split(" ")).anyMatch(f -> f.length > 2 && f[1].equals(MOUNT_POINT.toString()) && f[2].equals("bpf"));
    }
}
