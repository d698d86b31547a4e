package io.socketlauncher.repair;

/**
 * What the two ends negotiated in the handshake, plus the effective send MSS.
 *
 * @param mssClamp   the peer's MSS (as clamped by ours): TCP_MAXSEG read in repair mode; restored with
 *                   TCP_MAXSEG before connect (else the socket starts from 536) and TCP_REPAIR_OPTIONS
 * @param mss        the effective send MSS (tcpi_snd_mss: the clamp less option space), for information
 * @param windowScaling whether window scaling was negotiated; the two shifts below only count then
 * @param sendWindowScale   the peer's shift, applied to windows it advertises
 * @param receiveWindowScale our shift, applied to windows we advertise
 * @param timestampClock the value TCP_TIMESTAMP read (this connection's clock, offset included)
 * @param clockReadAtMillis wall-clock time of that read, so the restore can move the clock on by the time
 *                   the move took: a clock that went back would make the peer drop segments (PAWS)
 */
public record TcpOptions(int mssClamp, int mss, boolean sack, boolean timestamps, boolean windowScaling,
                         int sendWindowScale, int receiveWindowScale, int timestampClock, long clockReadAtMillis) {
    public TcpOptions {
        if (mssClamp < 0 || mssClamp > 0xffff || mss < 0 || mss > 0xffff) {
            throw new IllegalArgumentException("MSS out of range: clamp " + mssClamp + ", mss " + mss);
        }
        if (sendWindowScale < 0 || sendWindowScale > 14 || receiveWindowScale < 0 || receiveWindowScale > 14) {
            throw new IllegalArgumentException("window scale out of range 0..14: " + sendWindowScale + "/" + receiveWindowScale);
        }
    }
}
