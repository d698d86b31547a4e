package io.socketlauncher.repair;

/**
 * The TCP states a connection can be moved in, with the kernel's numbers. Each state says whether our
 * FIN is in the send queue and whether the peer's FIN is in the receive queue, which decides how the
 * restore puts the FINs back.
 */
public enum TcpConnectionState {
    ESTABLISHED(1, false, false, false),
    FIN_WAIT1(4, true, false, false),
    FIN_WAIT2(5, true, true, false),
    CLOSE_WAIT(8, false, false, true),
    LAST_ACK(9, true, false, true),
    CLOSING(11, true, false, true);

    private final int kernelValue;
    private final boolean finSent;
    private final boolean finAcked;
    private final boolean finReceived;

    TcpConnectionState(int kernelValue, boolean finSent, boolean finAcked, boolean finReceived) {
        this.kernelValue = kernelValue;
        this.finSent = finSent;
        this.finAcked = finAcked;
        this.finReceived = finReceived;
    }

    public int kernelValue() { return kernelValue; }

    /** Our side shut down its writing: a FIN follows the send queue. */
    public boolean finSent() { return finSent; }

    /** The peer acknowledged our FIN. */
    public boolean finAcked() { return finAcked; }

    /** The peer's FIN follows the receive queue. */
    public boolean finReceived() { return finReceived; }

    /** The state with this kernel number, or null for one that can't be moved (LISTEN, TIME_WAIT, SYN_*...). */
    public static TcpConnectionState ofKernel(int value) {
        for (TcpConnectionState state : values()) {
            if (state.kernelValue == value) return state;
        }
        return null;
    }
}
