package io.socketlauncher.testbed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the figures of a benchmark or the demo depend on besides the code: how busy the shared machine was, and how quickly an idle
 * CPU wakes up. On a virtual machine a halted vCPU is woken by the host, which takes tens of microseconds, once per
 * message a sleeping thread waits for; the guest's haltpoll cpuidle driver polls for {@code guest_halt_poll_ns}
 * first (docs/migration.md, "Tuning").
 */
public final class Machine {
    private static final Path LOADAVG = Path.of("/proc/loadavg");
    private static final Path CPUIDLE_DRIVER = Path.of("/sys/devices/system/cpu/cpuidle/current_driver");
    private static final Path HALT_POLL_NS = Path.of("/sys/module/haltpoll/parameters/guest_halt_poll_ns");

    private Machine() {
    }

    /** /proc/loadavg's 1, 5 and 15 minute figures, or "unknown". */
    public static String loadAverage() {
        String[] f = read(LOADAVG).split(" ");
        return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : "unknown";
    }

    /** CPUs, kernel, cpuidle driver and, under haltpoll, its polling time; what could not be read is left out. */
    public static Map<String, Object> facts() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        m.put("kernel", System.getProperty("os.version"));
        String driver = read(CPUIDLE_DRIVER);
        if (!driver.isEmpty()) m.put("cpuidle_driver", driver);
        String pollNs = read(HALT_POLL_NS);
        if (pollNs.matches("[0-9]{1,19}")) m.put("guest_halt_poll_ns", Long.parseLong(pollNs));
        return m;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            return "";
        }
    }
}
