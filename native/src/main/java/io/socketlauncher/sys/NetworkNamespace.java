package io.socketlauncher.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadFactory;

/**
 * A named network namespace ({@code /var/run/netns/NAME}), or the process's own. A namespace belongs to a thread,
 * not to a process, so code that must create sockets "on host s1" runs on a platform thread that entered it.
 * Sockets keep the namespace they were created in, so their fds can be used from any thread afterwards.
 */
public final class NetworkNamespace {
    private static final String NETNS_DIR = "/var/run/netns/";
    private final String name;
    private final String path;
    /** The process's own namespace: a thread already in it needs no setns (which takes CAP_SYS_ADMIN). */
    private final boolean own;

    private NetworkNamespace(String name, String path, boolean own) {
        this.name = name;
        this.path = path;
        this.own = own;
    }

    public static NetworkNamespace named(String name) {
        if (name.isEmpty() || name.contains("/") || name.length() > 64) {
            throw new IllegalArgumentException("bad network namespace name: '" + name + "'");
        }
        return new NetworkNamespace(name, NETNS_DIR + name, false);
    }

    /**
     * The namespace the process started in (its first thread's), named "self": for a daemon that runs where it was
     * started (the host's namespace, normally) rather than in a named one. A thread that is in it already (every
     * thread of a process that never changes namespace) stays as it is, so this needs no CAP_SYS_ADMIN; one that
     * is elsewhere enters it.
     */
    public static NetworkNamespace current() {
        return new NetworkNamespace("self", "/proc/self/ns/net", true);
    }

    public String name() {
        return name;
    }

    /** Moves the calling platform thread into this namespace for the rest of its life. */
    public void enterCurrentThread() throws NativeException {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("a virtual thread can't hold a namespace: it moves between carriers");
        }
        if (own && inOwnNamespace()) return;
        int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
        try {
            Libc.setns(fd, Libc.CLONE_NEWNET);
        } finally {
            Libc.closeQuietly(fd);
        }
    }

    /** Runs {@code task} on a fresh thread inside this namespace and returns its result. */
    public <T> T call(Callable<T> task) throws Exception {
        FutureTask<T> result = new FutureTask<>(() -> {
            enterCurrentThread();
            return task.call();
        });
        Thread thread = new Thread(result, "netns-" + name);
        thread.setDaemon(true);
        thread.start();
        try {
            return result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) throw cause;
            throw e;
        }
    }

    /** A single platform thread that lives in this namespace: for sockets and long-running loops there. */
    public ExecutorService executor() throws NativeException {
        return Executors.newSingleThreadExecutor(threadFactory());
    }

    /**
     * Threads that enter this namespace before running anything. Checks now that the namespace exists,
     * so a missing one fails here rather than in a thread nobody waits on.
     */
    public ThreadFactory threadFactory() throws NativeException {
        Libc.close(Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC));
        return runnable -> {
            Thread thread = new Thread(() -> {
                try {
                    enterCurrentThread();
                } catch (NativeException e) {
                    throw new IllegalStateException("cannot enter network namespace " + name + ": " + e.getMessage(), e);
                }
                runnable.run();
            }, "netns-" + name);
            thread.setDaemon(true);
            return thread;
        };
    }

    /** Whether the calling thread is in the namespace of the process's first thread (the links name the same one). */
    private static boolean inOwnNamespace() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).equals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")));
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return "netns " + name;
    }
}
