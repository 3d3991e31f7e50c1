//! The ordered, bounded worker pool: order kept, limits held, no hang on early exits.

use super::*;
use std::sync::Arc;
use std::time::Duration;

/// Takes every result in order, optionally pausing after each.
fn take_all<R>(line: &Line<'_, R>, pause: Duration) -> Vec<R> {
    let mut out = Vec::new();
    while let Taken::Ready(r, reservation) = line.take(None) {
        std::thread::sleep(pause);
        drop(reservation);
        out.push(r);
    }
    out
}

#[test]
fn results_come_in_job_order_whatever_order_they_finish_in() {
    let builders = Builders::new(4, 1 << 20);
    let jobs: Vec<u64> = (0..200).collect();
    // Early jobs are the slowest, so later ones finish first.
    let got = in_order(
        &builders,
        &jobs,
        vec![(); 4],
        |_, &j| {
            std::thread::sleep(Duration::from_micros((200 - j) * 20));
            (j * 3, 1)
        },
        |line| take_all(line, Duration::ZERO),
    );
    assert_eq!(got, jobs.iter().map(|j| j * 3).collect::<Vec<_>>());
    assert_eq!(builders.usage().bytes, 0, "every reservation is given back");
}

#[test]
fn builds_at_once_stay_within_the_slots_across_passes() {
    let builders = Arc::new(Builders::new(3, 1 << 20));
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let passes: Vec<_> = (0..3)
        .map(|_| {
            let (builders, running, most) = (builders.clone(), running.clone(), most.clone());
            std::thread::spawn(move || {
                let jobs: Vec<usize> = (0..60).collect();
                in_order(
                    &builders,
                    &jobs,
                    vec![(); 3],
                    |_, &j| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_micros(300));
                        running.fetch_sub(1, Ordering::SeqCst);
                        (j, 1)
                    },
                    |line| take_all(line, Duration::ZERO),
                )
            })
        })
        .collect();
    for p in passes {
        assert_eq!(p.join().unwrap(), (0..60).collect::<Vec<_>>());
    }
    let most = most.load(Ordering::SeqCst);
    assert!(most <= 3, "{most} builds ran at once with 3 slots");
    assert!(
        most >= 2,
        "the passes never built in parallel ({most} at most)"
    );
}

#[test]
fn bytes_waiting_stay_near_the_budget_while_the_pass_is_slow() {
    // 100-byte results against a 1,000-byte budget, taken slowly: without the limit all
    // 300 would pile up (30,000 bytes).
    let builders = Builders::new(4, 1_000);
    let jobs: Vec<usize> = (0..300).collect();
    let most = AtomicUsize::new(0);
    let got = in_order(
        &builders,
        &jobs,
        vec![(); 4],
        |_, &j| (j, 100),
        |line| {
            let mut out = Vec::new();
            while let Taken::Ready(r, reservation) = line.take(None) {
                most.fetch_max(builders.usage().bytes, Ordering::SeqCst);
                std::thread::sleep(Duration::from_micros(100));
                drop(reservation);
                out.push(r);
            }
            out
        },
    );
    assert_eq!(got, jobs);
    let most = most.load(Ordering::SeqCst);
    // The budget, plus what the workers started while under it, plus the exempt job.
    assert!(most <= 1_000 + 5 * 100, "{most} bytes were waiting");
}

#[test]
fn a_tiny_budget_still_finishes_because_the_awaited_job_always_runs() {
    let builders = Builders::new(2, 1);
    let jobs: Vec<usize> = (0..50).collect();
    // The pass holds every reservation to the end, as a batch does before it is stored.
    let got = in_order(
        &builders,
        &jobs,
        vec![(); 2],
        |_, &j| (j, 10),
        |line| {
            let mut held = Vec::new();
            while let Taken::Ready(r, reservation) = line.take(None) {
                held.push((r, reservation));
            }
            held.into_iter().map(|(r, _)| r).collect::<Vec<_>>()
        },
    );
    assert_eq!(got, jobs);
}

#[test]
fn take_with_a_deadline_returns_when_nothing_is_ready() {
    let builders = Builders::new(1, 1 << 20);
    let jobs = [0usize];
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let wait = Mutex::new(wait);
    in_order(
        &builders,
        &jobs,
        vec![()],
        |_, &j| {
            let _ = wait.lock().unwrap().recv();
            (j, 1)
        },
        |line| {
            let soon = Instant::now() + Duration::from_millis(20);
            assert!(matches!(line.take(Some(soon)), Taken::NotYet));
            release.send(()).unwrap();
            assert!(matches!(line.take(None), Taken::Ready(0, _)));
            assert!(matches!(line.take(None), Taken::End));
        },
    );
}

#[test]
fn a_pass_that_stops_early_ends_its_workers() {
    let builders = Builders::new(2, 1 << 20);
    let jobs: Vec<usize> = (0..10_000).collect();
    let built = AtomicUsize::new(0);
    let first = in_order(
        &builders,
        &jobs,
        vec![(); 2],
        |_, &j| {
            built.fetch_add(1, Ordering::SeqCst);
            (j, 1)
        },
        |line| match line.take(None) {
            Taken::Ready(r, _) => r,
            _ => unreachable!("there are jobs"),
        },
    );
    assert_eq!(first, 0);
    assert!(
        built.load(Ordering::SeqCst) <= WINDOW + 2,
        "workers ran past the window after the pass stopped"
    );
    assert_eq!(builders.usage().busy, 0);
    assert_eq!(builders.usage().bytes, 0);
}

#[test]
fn a_panicking_build_reaches_the_pass_instead_of_hanging_it() {
    let builders = Builders::new(2, 1 << 20);
    let jobs: Vec<usize> = (0..20).collect();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        in_order(
            &builders,
            &jobs,
            vec![(); 2],
            |_, &j| {
                assert_ne!(j, 7, "job 7 is broken");
                (j, 1)
            },
            |line| take_all(line, Duration::ZERO),
        )
    }));
    assert!(outcome.is_err());
    assert_eq!(
        builders.usage().busy,
        0,
        "the panicking build freed its slot"
    );
}
