package io.socketlauncher.repair;

/** struct tcp_repair_window: both windows as the kernel keeps them (values already scaled). */
public record RepairWindow(int sndWl1, int sndWnd, int maxWindow, int rcvWnd, int rcvWup) {
}
