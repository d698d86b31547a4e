package io.socketlauncher.proxy.control;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Payload layouts of every message (big-endian; docs/control-protocol.md has the same tables). Decoders read the
 * whole payload and refuse trailing bytes, so each layout has exactly one valid encoding.
 */
final class Messages {
    private Messages() {
    }

    record Redirect(FlowKey flow, String backendId) {
    }

    record AddBackend(InetSocketAddress vip, String backendId, InetSocketAddress address, int weight) {
    }

    record SetWeight(String backendId, int weight) {
    }

    record Error(int code, String message) {
    }

    // FLOWS: limit u32. A limit above MAX_FLOWS_PER_REPLY is served as MAX_FLOWS_PER_REPLY.
    static byte[] flows(int limit) {
        return new PayloadWriter().i32(limit).toByteArray();
    }

    static int decodeFlows(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("FLOWS", payload);
        long limit = r.u32("limit");
        r.end();
        return (int) Math.min(limit, Wire.MAX_FLOWS_PER_REPLY);
    }

    // FLOW_LIST: count u16, then count flow entries.
    static byte[] flowList(List<FlowInfo> flows) {
        if (flows.size() > Wire.MAX_FLOWS_PER_REPLY) {
            throw new IllegalArgumentException(flows.size() + " flows exceed the " + Wire.MAX_FLOWS_PER_REPLY
                    + " one reply carries");
        }
        PayloadWriter w = new PayloadWriter().u16(flows.size());
        flows.forEach(f -> flowInfo(w, f));
        return w.toByteArray();
    }

    static List<FlowInfo> decodeFlowList(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("FLOW_LIST", payload);
        int count = r.u16("count");
        if (count > Wire.MAX_FLOWS_PER_REPLY) {
            throw r.malformed("count " + count + " exceeds " + Wire.MAX_FLOWS_PER_REPLY);
        }
        List<FlowInfo> flows = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            flows.add(flowInfo(r, "flow " + i));
        }
        r.end();
        return flows;
    }

    // BACKENDS: empty. BACKEND_LIST: count u16, then count backend entries.
    static byte[] backendList(List<BackendInfo> backends) {
        if (backends.size() > Wire.MAX_BACKENDS_PER_REPLY) {
            throw new IllegalArgumentException(backends.size() + " backends exceed the "
                    + Wire.MAX_BACKENDS_PER_REPLY + " one reply carries");
        }
        PayloadWriter w = new PayloadWriter().u16(backends.size());
        for (BackendInfo b : backends) {
            w.backendId(b.id()).address(b.vip()).address(b.address()).i32(b.weight()).u8(b.healthy() ? 1 : 0)
                    .i64(b.activeFlows()).i64(b.packets()).i64(b.bytes());
        }
        return w.toByteArray();
    }

    static List<BackendInfo> decodeBackendList(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("BACKEND_LIST", payload);
        int count = r.u16("count");
        if (count > Wire.MAX_BACKENDS_PER_REPLY) {
            throw r.malformed("count " + count + " exceeds " + Wire.MAX_BACKENDS_PER_REPLY);
        }
        List<BackendInfo> backends = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            String at = "backend " + i;
            String id = r.backendId(at + " id");
            InetSocketAddress vip = r.address(at + " vip");
            InetSocketAddress address = r.address(at + " address");
            int weight = weight(r, at + " weight");
            int healthy = r.u8(at + " healthy");
            if (healthy > 1) {
                throw r.malformed(at + " healthy is " + healthy + "; expected 0 or 1");
            }
            backends.add(new BackendInfo(id, vip, address, weight, healthy == 1,
                    r.i64(at + " active flows"), r.i64(at + " packets"), r.i64(at + " bytes")));
        }
        r.end();
        return backends;
    }

    // REDIRECT: flow key, backend id. REDIRECTED: the flow entry as now mapped.
    static byte[] redirect(FlowKey flow, String backendId) {
        return new PayloadWriter().flowKey(flow).backendId(backendId).toByteArray();
    }

    static Redirect decodeRedirect(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("REDIRECT", payload);
        Redirect redirect = new Redirect(r.flowKey("flow"), r.backendId("backend id"));
        r.end();
        return redirect;
    }

    static byte[] redirected(FlowInfo flow) {
        PayloadWriter w = new PayloadWriter();
        flowInfo(w, flow);
        return w.toByteArray();
    }

    static FlowInfo decodeRedirected(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("REDIRECTED", payload);
        FlowInfo flow = flowInfo(r, "flow");
        r.end();
        return flow;
    }

    // ADD_BACKEND: vip, backend id, address, weight i32 >= 0.
    static byte[] addBackend(InetSocketAddress vip, String backendId, InetSocketAddress address, int weight) {
        checkWeight(weight);
        return new PayloadWriter().address(vip).backendId(backendId).address(address).i32(weight).toByteArray();
    }

    static AddBackend decodeAddBackend(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("ADD_BACKEND", payload);
        AddBackend add = new AddBackend(r.address("vip"), r.backendId("backend id"), r.address("address"),
                weight(r, "weight"));
        r.end();
        return add;
    }

    // REMOVE_BACKEND: backend id.
    static byte[] removeBackend(String backendId) {
        return new PayloadWriter().backendId(backendId).toByteArray();
    }

    static String decodeRemoveBackend(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("REMOVE_BACKEND", payload);
        String id = r.backendId("backend id");
        r.end();
        return id;
    }

    // SET_WEIGHT: backend id, weight i32 >= 0 (0 drains).
    static byte[] setWeight(String backendId, int weight) {
        checkWeight(weight);
        return new PayloadWriter().backendId(backendId).i32(weight).toByteArray();
    }

    static SetWeight decodeSetWeight(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("SET_WEIGHT", payload);
        SetWeight set = new SetWeight(r.backendId("backend id"), weight(r, "weight"));
        r.end();
        return set;
    }

    // AUTH_INIT and AUTH_CHALLENGE: nonce, exactly NONCE_BYTES.
    static byte[] decodeNonce(String message, byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader(message, payload);
        byte[] nonce = r.bytes(Wire.NONCE_BYTES, "nonce");
        r.end();
        return nonce;
    }

    // ERROR: code u16, message (u16 length, UTF-8, at most MAX_ERROR_MESSAGE_BYTES).
    static byte[] error(int code, String message) {
        // Cut by characters first so the UTF-8 form stays within the bound (at most 3 bytes per char here).
        String cut = message.length() > Wire.MAX_ERROR_MESSAGE_BYTES / 3
                ? message.substring(0, Wire.MAX_ERROR_MESSAGE_BYTES / 3 - 3) + "..." : message;
        return new PayloadWriter().u16(code).string(cut, false, Wire.MAX_ERROR_MESSAGE_BYTES).toByteArray();
    }

    static Error decodeError(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("ERROR", payload);
        Error error = new Error(r.u16("code"), r.string("message", false, 0, Wire.MAX_ERROR_MESSAGE_BYTES));
        r.end();
        return error;
    }

    static void requireEmpty(String message, byte[] payload) throws ProtocolException {
        new PayloadReader(message, payload).end();
    }

    private static void flowInfo(PayloadWriter w, FlowInfo f) {
        w.flowKey(f.key()).backendId(f.backendId()).i64(f.packets()).i64(f.bytes()).i64(f.idleMillis());
    }

    private static FlowInfo flowInfo(PayloadReader r, String at) throws ProtocolException {
        return new FlowInfo(r.flowKey(at), r.backendId(at + " backend id"), r.i64(at + " packets"),
                r.i64(at + " bytes"), r.i64(at + " idle millis"));
    }

    private static int weight(PayloadReader r, String field) throws ProtocolException {
        int weight = r.i32(field);
        if (weight < 0) {
            throw r.malformed(field + " " + weight + " is negative");
        }
        return weight;
    }

    static void checkWeight(int weight) {
        if (weight < 0) {
            throw new IllegalArgumentException("weight " + weight + " is negative; 0 drains");
        }
    }
}
