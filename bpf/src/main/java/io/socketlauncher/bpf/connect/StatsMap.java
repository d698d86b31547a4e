package io.socketlauncher.bpf.connect;

import io.socketlauncher.sys.BpfMap;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** {@code vs_stats}: counters by real id. A real counts as configured while its entry exists. */
public final class StatsMap extends TypedMap<Integer, RealStats> {
    public static final String NAME = "vs_stats";

    public StatsMap(BpfMap map) {
        super(map, 4, i -> ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(i).array(),
                raw -> ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder()).getInt(),
                RealStats.SIZE, RealStats::encode, RealStats::decode);
    }
}
