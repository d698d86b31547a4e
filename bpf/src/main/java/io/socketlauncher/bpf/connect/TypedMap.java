package io.socketlauncher.bpf.connect;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/** A hash map of the connect program seen through its key and value records. */
public abstract class TypedMap<K, V> {
    private final BpfMap map;
    private final int keySize, valueSize;
    private final Function<K, byte[]> encodeKey;
    private final Function<byte[], K> decodeKey;
    private final Function<V, byte[]> encodeValue;
    private final Function<byte[], V> decodeValue;

    TypedMap(BpfMap map, int keySize, Function<K, byte[]> encodeKey, Function<byte[], K> decodeKey,
             int valueSize, Function<V, byte[]> encodeValue, Function<byte[], V> decodeValue) {
        this.map = map;
        this.keySize = keySize;
        this.valueSize = valueSize;
        this.encodeKey = encodeKey;
        this.decodeKey = decodeKey;
        this.encodeValue = encodeValue;
        this.decodeValue = decodeValue;
    }

    public BpfMap raw() {
        return map;
    }

    public Optional<V> get(K key) throws NativeException {
        byte[] value = new byte[valueSize];
        return map.lookup(encodeKey.apply(key), value) ? Optional.of(decodeValue.apply(value)) : Optional.empty();
    }

    public void put(K key, V value) throws NativeException {
        map.update(encodeKey.apply(key), encodeValue.apply(value), BpfMap.ANY);
    }

    /** Fails with EEXIST if the key is present. */
    public void insert(K key, V value) throws NativeException {
        map.update(encodeKey.apply(key), encodeValue.apply(value), BpfMap.NO_EXIST);
    }

    public boolean delete(K key) throws NativeException {
        return map.delete(encodeKey.apply(key));
    }

    public List<K> keys() throws NativeException {
        List<K> keys = new ArrayList<>();
        byte[] current = null;
        byte[] next = new byte[keySize];
        while (map.nextKey(current, next)) {
            keys.add(decodeKey.apply(next.clone()));
            current = next.clone();
        }
        return keys;
    }

    /** A snapshot; entries deleted meanwhile are left out. */
    public Map<K, V> entries() throws NativeException {
        Map<K, V> entries = new LinkedHashMap<>();
        for (K key : keys()) get(key).ifPresent(v -> entries.put(key, v));
        return entries;
    }
}
