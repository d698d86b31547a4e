package io.socketlauncher.bpf.proxy;

/** struct proxy_counters, summed over CPUs. */
public record Counters(long packets, long bytes, long newFlows, long dropped) {
    public static final Counters ZERO = new Counters(0, 0, 0, 0);
    static final int SIZE = 32;

    public Counters plus(Counters o) {
        return new Counters(packets + o.packets, bytes + o.bytes, newFlows + o.newFlows, dropped + o.dropped);
    }
}
