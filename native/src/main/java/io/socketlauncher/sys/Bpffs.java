package io.socketlauncher.sys;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Pins need bpffs at /sys/fs/bpf; minimal systems (this testbed's machines among them) boot without it mounted.
 * It is mounted in this process's mount namespace, where every thread sees it, whichever network namespace the
 * thread is in; but only if that is the host's: a process of its own mount namespace ({@code ip netns exec} gives
 * one, with a /sys of its own) would mount a bpffs that goes with it, and its pins with it.
 */
public final class Bpffs {
    private static final Path MOUNT_POINT = Path.of("/sys/fs/bpf");
    /** Held across processes while one checks and mounts: two mounts at once would stack two instances. */
    private static final Path LOCK = Path.of("/run/socketlauncher-bpffs.lock");

    private Bpffs() {
    }

    /** Mounts bpffs at /sys/fs/bpf unless it is there; throws if it can't, saying why. */
    public static synchronized void ensureMounted(Path pinDir) throws IOException {
        if (!pinDir.toAbsolutePath().startsWith(MOUNT_POINT)) {
            throw new IllegalArgumentException("pin directory " + pinDir + " is not under " + MOUNT_POINT);
        }
        if (isMounted()) return;
        if (privateMountNamespace()) {
            throw new IOException("no bpffs at " + MOUNT_POINT + " in this process's mount namespace, which is not the host's"
                    + " (ip netns exec makes one): pins made here would go with the process");
        }
        try (FileChannel lockFile = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockFile.lock()) {
            if (isMounted()) return;
            Process p = new ProcessBuilder("mount", "-t", "bpf", "bpf", MOUNT_POINT.toString()).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) throw new IOException("mount -t bpf bpf " + MOUNT_POINT + " failed: " + output.strip());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while mounting bpffs", e);
        }
    }

    /** Whether this process's mount namespace is provably not init's (a sandbox may hide init's: then it is taken for the host's). */
    private static boolean privateMountNamespace() {
        try {
            return !Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")).equals(Files.readSymbolicLink(Path.of("/proc/1/ns/mnt")));
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean isMounted() throws IOException {
        List<String> mounts = Files.readAllLines(Path.of("/proc/self/mounts"));
        return mounts.stream().map(l -> l.split(" ")).anyMatch(f -> f.length > 2 && f[1].equals(MOUNT_POINT.toString()) && f[2].equals("bpf"));
    }
}
