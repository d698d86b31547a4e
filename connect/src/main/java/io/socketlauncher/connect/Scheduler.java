package io.socketlauncher.connect;

import io.socketlauncher.bpf.connect.ServiceValue;
import java.util.Arrays;
import java.util.stream.Collectors;

/** How a service picks a real server for each new connection. The names follow ipvsadm's. */
public enum Scheduler {
    /** Round-robin over usable real servers, weights only tell usable (>0) from drained. */
    RR("rr", ServiceValue.RR),
    /** Round-robin in proportion to the weights, interleaved (smooth weighted round-robin). */
    WRR("wrr", ServiceValue.WRR),
    /** A random real server, with probability proportional to its weight. */
    RANDOM("random", ServiceValue.RANDOM),
    /** The real server with the fewest active connections per unit of weight. */
    LC("lc", ServiceValue.LC),
    /** Source hashing: a client (its network namespace and bound source address) always gets the same real. */
    SH("sh", ServiceValue.SH);

    private final String label;
    private final int code;

    Scheduler(String label, int code) {
        this.label = label;
        this.code = code;
    }

    public String label() {
        return label;
    }

    int code() {
        return code;
    }

    public static Scheduler parse(String text) {
        for (Scheduler s : values()) if (s.label.equals(text)) return s;
        throw new IllegalArgumentException("unknown scheduler '" + Config.shorten(text) + "' (known: "
                + Arrays.stream(values()).map(Scheduler::label).collect(Collectors.joining(", ")) + ")");
    }

    static Scheduler of(int code) {
        for (Scheduler s : values()) if (s.code == code) return s;
        throw new IllegalStateException("scheduler code " + code + " in the services map");
    }
}
