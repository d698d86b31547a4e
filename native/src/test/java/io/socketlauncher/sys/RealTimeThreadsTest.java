package io.socketlauncher.sys;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Runs as root (CAP_SYS_NICE), as the whole suite does. */
class RealTimeThreadsTest {
    private static final int SCHED_FIFO = 1;

    @Test
    void thePriorityPropertyIsAPriorityOrKeepsThreadsOrdinary() {
        assertThat(RealTimeThreads.priority(null)).as("unset").isEqualTo(10);
        assertThat(RealTimeThreads.priority("0")).isZero();
        assertThat(RealTimeThreads.priority(" 98 ")).isEqualTo(98);
        for (String garbage : new String[] {"abc", "99", "150", "-3", "+5", "\u0668", "", "1e1"}) {
            assertThat(RealTimeThreads.priority(garbage)).as(garbage).isZero();
        }
    }

    @Test
    void theFirstRealTimeThreadRaisesTheJvmsOwnThreadsOneStepAboveItself() throws Exception {
        AtomicReference<int[]> own = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            boolean entered = RealTimeThreads.enter();
            try {
                own.set(entered ? schedulingOf(Path.of("/proc/thread-self")) : null);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } finally {
                RealTimeThreads.leave(entered);
            }
        });
        t.join();

        assertThat(own.get()).as("policy and priority of the real-time thread").isNotNull();
        assertThat(own.get()[0]).isEqualTo(SCHED_FIFO);
        int priority = own.get()[1];
        Map<String, int[]> jvm = jvmServiceThreads();
        assertThat(jvm.keySet()).as("the JVM's own threads found in /proc").contains("VM Thread", "C2 CompilerThre", "C1 CompilerThre");
        jvm.forEach((name, scheduling) -> {
            assertThat(scheduling[0]).as("policy of " + name).isEqualTo(SCHED_FIFO);
            assertThat(scheduling[1]).as("priority of " + name).isEqualTo(priority + 1);
        });
    }

    private static Map<String, int[]> jvmServiceThreads() throws IOException {
        Map<String, int[]> found = new LinkedHashMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    String name = Files.readString(task.resolve("comm")).strip();
                    if (name.equals("VM Thread") || name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")
                            || name.startsWith("GC Thread#")) {
                        found.put(name, schedulingOf(task));
                    }
                } catch (NoSuchFileException ended) {
                    // a thread that ended since the listing (the one started above, a retired compiler thread)
                }
            }
        }
        return found;
    }

    /** Fields 40 (rt_priority) and 41 (policy) of stat, counted after the command name, which may hold spaces. */
    private static int[] schedulingOf(Path task) throws IOException {
        String stat = Files.readString(task.resolve("stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new int[] {Integer.parseInt(fields[41 - 3]), Integer.parseInt(fields[40 - 3])};
    }
}
