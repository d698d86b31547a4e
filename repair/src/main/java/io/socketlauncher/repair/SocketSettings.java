package io.socketlauncher.repair;


/**
 * Socket options the application set that the kernel's repair interface does not carry. Buffer sizes
 * are the kernel's figures (getsockopt reports twice what setsockopt asked for).
 */
public record SocketSettings(boolean noDelay, boolean keepAlive, int keepIdleSeconds, int keepIntervalSeconds,
                             int keepCount, String congestionControl, int sendBuffer, int receiveBuffer,
                             int userTimeoutMillis, int notSentLowWatermark, int mark) {
    /** TCP_CA_NAME_MAX in the kernel, terminating NUL included. */
    public static final int CONGESTION_NAME_MAX = 15;

    public SocketSettings {
        if (congestionControl.isEmpty() || congestionControl.length() > CONGESTION_NAME_MAX
                || !congestionControl.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("bad congestion control name: '" + congestionControl + "'");
        }
    }

}
