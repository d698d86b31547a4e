package io.socketlauncher.connect;

import io.socketlauncher.bpf.connect.ServiceKey;

/** The transport of a virtual service; the flag is ipvsadm's. */
public enum Protocol {
    TCP("-t", ServiceKey.TCP), UDP("-u", ServiceKey.UDP);

    private final String flag;
    private final int number;

    Protocol(String flag, int number) {
        this.flag = flag;
        this.number = number;
    }

    public String flag() {
        return flag;
    }

    int number() {
        return number;
    }

    static Protocol of(int number) {
        for (Protocol p : values()) if (p.number == number) return p;
        throw new IllegalStateException("protocol " + number + " in the services map");
    }
}
