package io.socketlauncher.server.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Test;

/**
 * The pool's bookkeeping, with channels that are plain objects: which channel is taken, which are trimmed, pinged or
 * dropped, and how many count as open. The links over real channels are covered by PeerLinkTest and the cluster tests.
 */
class ChannelPoolTest {
    /** Channels numbered in the order they were opened; remembers which were closed and pinged. */
    private static final class Fake implements ChannelPool.Channels<Integer> {
        final List<Integer> closed = new ArrayList<>();
        final List<Integer> pinged = new ArrayList<>();
        Set<Integer> dead = Set.of();
        int opened;

        @Override
        public Integer open() {
            return ++opened;
        }

        @Override
        public boolean close(Integer channel) {
            if (closed.contains(channel)) return false;
            closed.add(channel);
            return true;
        }

        void ping(Integer channel) throws IOException {
            pinged.add(channel);
            if (dead.contains(channel)) throw new IOException("channel " + channel + " does not answer");
        }
    }

    private final Fake fake = new Fake();
    private final ChannelPool<Integer> pool = new ChannelPool<>("the test pool", fake, null);

    @Test
    void theChannelPutBackLastIsTakenFirst() throws IOException {
        assertThat(pool.fill(3)).isEqualTo(3);
        assertThat(pool.takeIdle()).as("filled ones queue in the order opened").isEqualTo(1);
        Integer second = pool.takeIdle();
        pool.put(1);
        pool.put(second);
        assertThat(pool.takeIdle()).isEqualTo(2);
        assertThat(pool.takeIdle()).isEqualTo(1);
        assertThat(pool.takeIdle()).isEqualTo(3);
        assertThat(pool.takeIdle()).isNull();
        assertThat(pool.openChannels()).as("taken channels are still open").isEqualTo(3);
    }

    @Test
    void fillOpensOnlyWhatIsMissingCountingThoseInUse() throws IOException {
        Integer inUse = pool.open();
        assertThat(pool.fill(4)).isEqualTo(3);
        assertThat(pool.fill(4)).isZero();
        pool.put(inUse);
        assertThat(pool.openChannels()).isEqualTo(4);
        assertThat(fake.opened).isEqualTo(4);
    }

    @Test
    void upkeepClosesSurplusChannelsUnusedLongEnoughOldestFirstAndPingsTheRest() throws Exception {
        pool.fill(5); // idle, oldest last: 1..5 from head to tail
        Thread.sleep(5);
        pool.put(pool.takeIdle()); // channel 1 used just now
        long unusedFor = 3_000_000; // 3 ms: channels 2..5 qualify, 1 does not

        assertThat(pool.upkeep(2, unusedFor, fake::ping)).isEqualTo(3);
        assertThat(fake.closed).as("the longest idle go first, until two are left").containsExactly(5, 4, 3);
        assertThat(fake.pinged).as("once at the keep, the rest are pinged, not closed").containsExactly(1, 2);
        assertThat(pool.openChannels()).isEqualTo(2);
        assertThat(pool.takeIdle()).as("pinging did not reorder them").isEqualTo(1);
        assertThat(pool.takeIdle()).isEqualTo(2);
    }

    @Test
    void aPingDoesNotCountAsUseSoTheChannelIsTrimmedLater() throws Exception {
        pool.fill(2);
        Thread.sleep(5);
        assertThat(pool.upkeep(2, 3_000_000, fake::ping)).as("none beyond the keep").isZero();
        assertThat(pool.upkeep(1, 3_000_000, fake::ping)).isEqualTo(1);
        assertThat(fake.closed).containsExactly(2);
    }

    @Test
    void aChannelThatDoesNotAnswerIsClosedAndCountedOutOnce() throws IOException {
        pool.fill(3);
        fake.dead = Set.of(2);
        ChannelPool.Ping<Integer> pingThatClosesOnFailure = channel -> {
            try {
                fake.ping(channel);
            } catch (IOException e) {
                pool.discard(channel); // as a PeerLink session closes itself when an exchange fails
                throw e;
            }
        };
        assertThat(pool.upkeep(3, Long.MAX_VALUE, pingThatClosesOnFailure)).isEqualTo(1);
        assertThat(fake.closed).containsExactly(2);
        assertThat(pool.openChannels()).as("closed twice, counted out once").isEqualTo(2);
        assertThat(pool.takeIdle()).isEqualTo(1);
        assertThat(pool.takeIdle()).isEqualTo(3);
    }

    @Test
    void aBoundOnChannelsInUseAlsoBoundsFillAndPings() throws IOException {
        Semaphore inUse = new Semaphore(2);
        ChannelPool<Integer> bounded = new ChannelPool<>("the bounded pool", fake, inUse);
        assertThat(bounded.fill(2)).isEqualTo(2);
        inUse.acquireUninterruptibly(2); // two migrations hold every permit
        assertThat(bounded.fill(3)).as("no permit to open under").isZero();
        fake.dead = Set.of(1);
        assertThat(bounded.upkeep(2, Long.MAX_VALUE, fake::ping)).as("no permit to take a channel out under").isZero();
        assertThat(fake.pinged).isEmpty();
        inUse.release(2);
        assertThat(bounded.upkeep(2, Long.MAX_VALUE, fake::ping)).isEqualTo(1);
        assertThat(fake.pinged).containsExactly(1, 2);
        assertThat(inUse.availablePermits()).as("upkeep gave its permits back").isEqualTo(2);
        assertThat(bounded.openChannels()).isEqualTo(1);
    }

    @Test
    void aClosedPoolClosesWhatIsPutBackAndOpensNothing() throws IOException {
        pool.fill(2);
        Integer inUse = pool.takeIdle();
        pool.close();
        assertThat(fake.closed).containsExactly(2);
        pool.put(inUse);
        assertThat(fake.closed).containsExactly(2, 1);
        assertThat(pool.openChannels()).isZero();
        assertThatThrownBy(pool::open).isInstanceOf(IOException.class).hasMessage("the test pool is closed");
        assertThat(pool.fill(3)).isZero();
    }
}
