#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RepLKCHints
import Synchronization

/// A persistent pool of worker threads for data-parallel loops.
///
/// `DispatchQueue.concurrentPerform` wakes its second thread tens of microseconds late, which
/// costs more than many of our kernels take; these workers spin briefly before they sleep, so
/// back-to-back layers find them awake. The calling thread always takes part in the work, so a
/// pool of `threadCount` uses `threadCount - 1` extra threads and never oversubscribes.
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads that execute a `parallelFor`, the caller included.
    public let threadCount: Int

    // The job refers to the loop body through a pointer, not a strong reference: a worker may still
    // hold the job object for a moment after finishing, but never a copy of the closure.
    private final class Job {
        let body: UnsafePointer<(Int, Int) -> Void>
        let count: Int
        /// Thread t's share of the iterations, `t·count/threads ..< (t+1)·count/threads`, with the
        /// next one to claim (a plain loop has one share that every thread claims from).
        let shares: [Share]
        let remaining: Atomic<Int>
        init(body: UnsafePointer<(Int, Int) -> Void>, count: Int, workers: Int, affine: Bool) {
            self.body = body
            self.count = count
            let n = affine ? workers : 1
            shares = (0..<n).map { Share(from: $0 * count / n, to: ($0 + 1) * count / n) }
            self.remaining = Atomic<Int>(workers)
        }
    }

    private final class Share {
        let next: Atomic<Int>
        let end: Int
        init(from: Int, to: Int) { next = Atomic<Int>(from); end = to }
        /// The next unclaimed iteration of this share, or nil.
        @inline(__always) func claim() -> Int? {
            if next.load(ordering: .relaxed) >= end { return nil }
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            return i < end ? i : nil
        }
    }

    private let generation = Atomic<Int>(0)
    private var job: Job?
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var done = pthread_cond_t()
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var threads: [pthread_t] = []
    private let submitLock = Mutex<Void>(())
    /// Worker threads number themselves 1, 2, … as they start; the calling thread is 0.
    private let nextThreadID = Atomic<Int>(0)
    /// How long a thread spins (with a pause hint) for the next job, or for the others to finish
    /// one, before it sleeps. A count of 20 000 polls was about 8 µs here, less than the gap
    /// between two layers, so workers fell asleep and each layer paid a wake-up (tens of µs in
    /// a VM); likewise the caller, waiting on a worker's last task.
    private let spinNanoseconds: UInt64 = 200_000

    private static let insideKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The number of online CPUs (at least 1): the thread count of a default `EngineConfiguration`.
    public static var onlineCPUCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    // Pools start OS threads, so every configuration with the same thread count shares one. Only
    // pools are added and none is ever replaced: a cache of immutable resources, not a setting.
    private static let pools = Mutex<[Int: ThreadPool]>([:])

    /// The process-wide pool of `threads` threads (at least 1), started on first use and kept for
    /// the process's lifetime; every caller asking for the same count gets the same pool.
    public static func shared(threads: Int) -> ThreadPool {
        let n = max(1, threads)
        return pools.withLock { pools in
            if let pool = pools[n] { return pool }
            let pool = ThreadPool(threadCount: n)
            pools[n] = pool
            return pool
        }
    }

    /// The pool of the free ops (`activate`, `add`, `resizeBilinear`, …) and GEMMs when they are
    /// called without one, outside any model: `shared(threads: onlineCPUCount)`. Models pass their
    /// own configuration's pool instead, so this never decides how a model runs.
    public static let defaultPool = ThreadPool.shared(threads: ThreadPool.onlineCPUCount)

    /// Creates a pool that runs loops on `threadCount` threads (the caller and `threadCount - 1` workers).
    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&done, nil)
        for _ in 1..<self.threadCount {
            var tid = pthread_t()
            let unmanaged = Unmanaged.passUnretained(self)
            let rc = pthread_create(&tid, nil, { arg in
                // No strong reference: the pool may already be in its deinit, which waits for us.
                Unmanaged<ThreadPool>.fromOpaque(arg!)._withUnsafeGuaranteedRef {
                    $0.workerLoop(id: $0.nextThreadID.wrappingAdd(1, ordering: .relaxed).newValue)
                }
                return nil
            }, unmanaged.toOpaque())
            precondition(rc == 0, "cannot start a worker thread (pthread_create returned \(rc))")
            threads.append(tid)
        }
    }

    /// Stops the workers and waits for them. They hold no reference to the pool, so a pool that
    /// goes away (one made for a single measurement or test) would
    /// otherwise leave them spinning on, and then sleeping in, freed memory.
    deinit {
        pthread_mutex_lock(&mutex)
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.wrappingAdd(1, ordering: .releasing)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(&wake)
        pthread_cond_destroy(&done)
        pthread_mutex_destroy(&mutex)
    }

    private func workerLoop(id: Int) {
        var seen = 0
        while true {
            var gen = generation.load(ordering: .acquiring)
            spinWait { gen = generation.load(ordering: .acquiring); return gen != seen }
            if gen == seen {
                pthread_mutex_lock(&mutex)
                sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                gen = generation.load(ordering: .acquiring)
                while gen == seen {
                    pthread_cond_wait(&wake, &mutex)
                    gen = generation.load(ordering: .acquiring)
                }
                sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(&mutex)
            }
            seen = gen
            if stopping.load(ordering: .sequentiallyConsistent) { return }
            pthread_mutex_lock(&mutex)
            let current = job
            pthread_mutex_unlock(&mutex)
            guard let j = current else { continue }
            run(j, thread: id)
        }
    }

    /// Polls `ready` until it returns true or `spinNanoseconds` have passed.
    @inline(__always)
    private func spinWait(_ ready: () -> Bool) {
        if ready() { return }
        let deadline = monotonicNanoseconds() + spinNanoseconds
        while true {
            for _ in 0..<64 {
                if ready() { return }
                replk_spin_pause()
            }
            if monotonicNanoseconds() >= deadline { return }
        }
    }

    private func run(_ j: Job, thread: Int) {
        pthread_setspecific(ThreadPool.insideKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(ThreadPool.insideKey, nil) }
        // Every thread of the pool runs each job exactly once under its own number, so the
        // worker indices are 0 ..< threadCount. Its own share first, then what is left of the others'.
        let n = j.shares.count
        for k in 0..<n {
            let share = j.shares[(thread + k) % n]
            while let i = share.claim() { j.body.pointee(i, thread) }
        }
        if j.remaining.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&done)
            pthread_mutex_unlock(&mutex)
        }
    }

    private func runOnPool(_ j: Job) {
        pthread_mutex_lock(&mutex)
        job = j
        generation.wrappingAdd(1, ordering: .releasing)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 { pthread_cond_broadcast(&wake) }
        pthread_mutex_unlock(&mutex)
        run(j, thread: 0)
        // Wait until every worker has left the job: only then may the loop body go out of scope.
        spinWait { j.remaining.load(ordering: .acquiring) == 0 }
        if j.remaining.load(ordering: .acquiring) != 0 {
            pthread_mutex_lock(&mutex)
            while j.remaining.load(ordering: .acquiring) != 0 { pthread_cond_wait(&done, &mutex) }
            pthread_mutex_unlock(&mutex)
        }
        pthread_mutex_lock(&mutex)
        job = nil
        pthread_mutex_unlock(&mutex)
    }

    /// Runs `body(i)` for every `i` in `0..<count`, spread over the pool's threads, and returns
    /// when all calls have finished. Iterations must be independent.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        parallelFor(count, withWorkerIndex: { i, _ in body(i) })
    }

    /// Like `parallelFor(_:_:)`, and also passes the index (in `0 ..< threadCount`) of the thread
    /// running the call: no two calls running at the same time get the same one, so a loop can
    /// give each thread its own scratch buffer.
    ///
    /// With `affine`, thread t first runs its own share of the iterations, the t-th of
    /// `threadCount` contiguous ranges, and then helps with what is left of the others'. The same
    /// thread then gets the same share in every loop of that count: consecutive layers that split
    /// their work alike find the data the previous one wrote in their own core's cache rather than
    /// the other core's. Threads keep their numbers for the pool's lifetime (the caller is 0).
    public func parallelFor(_ count: Int, affine: Bool = false, withWorkerIndex body: (_ index: Int, _ worker: Int) -> Void) {
        if count <= 0 { return }
        // A loop nested inside another runs serially on the thread that reached it.
        if threadCount == 1 || count == 1 || pthread_getspecific(ThreadPool.insideKey) != nil {
            for i in 0..<count { body(i, 0) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            withUnsafePointer(to: escaping) { bodyPointer in
                submitLock.withLock { _ in
                    runOnPool(Job(body: bodyPointer, count: count, workers: threadCount, affine: affine))
                }
            }
        }
    }
}

@inline(__always)
private func monotonicNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}
