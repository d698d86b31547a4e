package io.socketlauncher.sys;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * The one policy for threads a client's segments wait on (a migration's threads, the proxy's answer to a
 * redirect): they run under SCHED_FIFO when the process may, because on a busy host an ordinary thread waits
 * milliseconds for a CPU now and then, and a stall longer than the client's loss-probe timer (2 RTT + 2 jiffies,
 * about 8 ms) costs a retransmission. Such a thread must block between its short bursts of work and never spin
 * while it is real-time: it would starve every ordinary thread on its CPU.
 *
 * <p>The JVM's own threads that Java threads wait on without knowing it (the VM thread, the JIT compilers, the
 * collector's workers) are raised one step above, once, with the first thread: left ordinary, they starve behind
 * the very threads that wait for them. Seen in the demo: calls into a method being recompiled went round the
 * runtime's re-resolution (SharedRuntime::handle_wrong_method) on every real-time thread, both CPUs busy, until the
 * kernel's real-time throttling gave the starved compiler its 5% and it installed the new code, about a second
 * later. Threads those spawn later (more compiler or collector threads) inherit the policy.
 *
 * <p>System property {@value #PROPERTY}: the priority (1-98, default 10; the JVM's threads take one more), 0 to
 * keep every thread ordinary; anything else is said once and keeps them ordinary too.
 * Without the privilege (CAP_SYS_NICE or an RLIMIT_RTPRIO) threads stay ordinary; that is said once per process.
 */
public final class RealTimeThreads {
    private static final String PROPERTY = "socketlauncher.rtprio";
    private static final System.Logger LOG = System.getLogger(RealTimeThreads.class.getName());
    private static final int PRIORITY = priority(System.getProperty(PROPERTY));
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static final AtomicBoolean JVM_THREADS_RAISED = new AtomicBoolean();
    private static final int ESRCH = 3;
    /** Names (as /proc shows them, cut at 15 characters) of the JVM threads raised above real-time Java threads. */
    private static final Pattern JVM_SERVICE_THREADS = Pattern.compile("VM Thread|C[12] CompilerThre|GC Thread#\\d+|Service Thread");
    private static volatile boolean refused;

    private RealTimeThreads() {}

    static int priority(String property) {
        if (property == null) return 10;
        String digits = property.strip();
        if (digits.matches("[0-9]{1,2}") && Integer.parseInt(digits) <= 98) return Integer.parseInt(digits);
        LOG.log(System.Logger.Level.WARNING, PROPERTY + "=" + property + " is not a priority from 0 to 98: threads stay ordinary");
        return 0;
    }

    /**
     * Raises the calling platform thread; returns whether it is real-time now. A virtual thread stays as it is: the
     * policy would stick to whichever carrier thread it happens to run on.
     */
    public static boolean enter() {
        if (PRIORITY == 0 || refused || Thread.currentThread().isVirtual()) return false;
        try {
            ThreadScheduling.fifo(PRIORITY);
            if (JVM_THREADS_RAISED.compareAndSet(false, true)) raiseJvmServiceThreads();
            return true;
        } catch (NativeException e) {
            refused = true;
            if (WARNED.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.INFO, "latency-critical threads stay ordinary (" + e.getMessage() + "): on a busy"
                        + " host a migrating client may now and then wait milliseconds for an ACK");
            }
            return false;
        }
    }

    private static void raiseJvmServiceThreads() {
        int priority = Math.min(99, PRIORITY + 1);
        List<String> raised = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                String name;
                try {
                    name = Files.readString(task.resolve("comm")).strip();
                } catch (NoSuchFileException ended) {
                    continue;
                }
                if (!JVM_SERVICE_THREADS.matcher(name).matches()) continue;
                try {
                    ThreadScheduling.fifo(Integer.parseInt(task.getFileName().toString()), priority);
                    raised.add(name);
                } catch (NativeException e) {
                    if (!e.is(ESRCH)) throw e; // else a compiler thread the JVM retired since the listing
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot raise the JVM's own threads above the real-time ones (" + e.getMessage()
                    + "): a real-time thread waiting for the JIT compiler may stall for up to a second");
            return;
        }
        LOG.log(System.Logger.Level.DEBUG, () -> "SCHED_FIFO " + priority + " for the JVM's " + raised);
    }

    /** Back to an ordinary thread after {@link #enter} returned true. */
    public static void leave(boolean entered) {
        if (!entered) return;
        try {
            ThreadScheduling.normal();
        } catch (NativeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot return a latency-critical thread to SCHED_OTHER: " + e.getMessage());
        }
    }
}
