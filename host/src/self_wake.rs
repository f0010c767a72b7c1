//! A connection's future, polled again at once when it wakes itself.
//!
//! hyper's request body is a channel inside the connection's own task: the
//! handler takes the body's chunk and wakes the sender, which is that same
//! task, in the middle of its poll. tokio reschedules a task woken during its
//! own poll through its yield path: to the back of the run queue, and it
//! unparks an idle worker to come and take it. With one client that is
//! every request with a body: the other worker wakes, steals the
//! connection, and the two threads hand it back and forth (1.7 `futex`
//! calls and 2.3 context switches a request; docs/performance.md,
//! "Sixteenth sitting"). Here a wake that arrives while the connection is
//! being polled is noted and the connection is polled again on the spot;
//! wakes at any other time reach tokio as before.
//!
//! A task that wakes itself to let another run first says so with
//! [`step_aside`]: that wake goes to tokio, which sends it to the back of
//! the run queue as before.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// Polls in a row before a connection that keeps waking itself is handed
/// back to tokio, so that one busy connection cannot hold its worker: tokio's
/// cooperative budget, for one, is spent by a poll and refilled only when
/// tokio polls the task again.
const REPOLLS: usize = 4;

thread_local! {
    static STEPPING_ASIDE: Cell<bool> = const { Cell::new(false) };
}

/// Wakes the current task so that tokio puts it behind the others; the
/// caller then returns `Pending` once.
pub fn step_aside(cx: &Context<'_>) {
    STEPPING_ASIDE.set(true);
    cx.waker().wake_by_ref();
}

/// `inner`, polled again at once when it wakes itself during a poll.
pub struct RepollSelfWakes<F> {
    inner: F,
    relay: Arc<Relay>,
    /// The relay as a waker, built once.
    waker: Waker,
}

impl<F: Future + Unpin> RepollSelfWakes<F> {
    pub fn new(inner: F) -> Self {
        let relay = Arc::new(Relay {
            polling: AtomicBool::new(false),
            woken: AtomicBool::new(false),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(relay.clone());
        RepollSelfWakes {
            inner,
            relay,
            waker,
        }
    }
}

impl<F: Future + Unpin> Future for RepollSelfWakes<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        this.relay.task.register(cx.waker());
        let mut inner_cx = Context::from_waker(&this.waker);
        for _ in 0..REPOLLS {
            STEPPING_ASIDE.set(false);
            this.relay.woken.store(false, SeqCst);
            this.relay.polling.store(true, SeqCst);
            let polled = Pin::new(&mut this.inner).poll(&mut inner_cx);
            this.relay.polling.store(false, SeqCst);
            if polled.is_ready() {
                return polled;
            }
            // A wake after `polling` went false reached tokio too: one
            // spare poll, never a lost wake.
            if !this.relay.woken.swap(false, SeqCst) {
                return Poll::Pending;
            }
            if STEPPING_ASIDE.take() {
                break;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The waker the inner future sees.
struct Relay {
    polling: AtomicBool,
    woken: AtomicBool,
    /// tokio's waker for the task, from its latest poll.
    task: AtomicWaker,
}

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        if !self.polling.load(SeqCst) {
            self.task.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts the wakes tokio's side of the task gets.
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn outer() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    /// Wakes itself `times` times, then is ready.
    struct SelfWaking {
        times: usize,
        polls: usize,
    }
    impl Future for SelfWaking {
        type Output = usize;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls += 1;
            if self.polls > self.times {
                return Poll::Ready(self.polls);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    fn a_self_wake_is_polled_again_without_waking_the_task() {
        let (count, waker) = outer();
        let mut f = RepollSelfWakes::new(SelfWaking { times: 1, polls: 0 });
        let r = Pin::new(&mut f).poll(&mut Context::from_waker(&waker));
        assert_eq!(r, Poll::Ready(2));
        assert_eq!(count.0.load(SeqCst), 0);
    }

    #[test]
    fn a_future_that_keeps_waking_itself_goes_back_to_the_scheduler() {
        let (count, waker) = outer();
        let mut f = RepollSelfWakes::new(SelfWaking {
            times: 100,
            polls: 0,
        });
        let r = Pin::new(&mut f).poll(&mut Context::from_waker(&waker));
        assert_eq!(r, Poll::Pending);
        assert_eq!(f.inner.polls, REPOLLS);
        assert_eq!(count.0.load(SeqCst), 1);
    }

    #[test]
    fn stepping_aside_reaches_the_scheduler() {
        let (count, waker) = outer();
        let mut stepped = false;
        let mut f = RepollSelfWakes::new(std::future::poll_fn(|cx| {
            if stepped {
                return Poll::Ready(());
            }
            stepped = true;
            step_aside(cx);
            Poll::Pending
        }));
        let r = Pin::new(&mut f).poll(&mut Context::from_waker(&waker));
        assert_eq!(r, Poll::Pending);
        assert_eq!(count.0.load(SeqCst), 1);
        let r = Pin::new(&mut f).poll(&mut Context::from_waker(&waker));
        assert_eq!(r, Poll::Ready(()));
    }

    #[test]
    fn a_wake_between_polls_reaches_the_scheduler() {
        let (count, waker) = outer();
        let (rx, tx) = futures_util::future::abortable(std::future::pending::<()>());
        let mut f = RepollSelfWakes::new(rx);
        let r = Pin::new(&mut f).poll(&mut Context::from_waker(&waker));
        assert!(r.is_pending());
        assert_eq!(count.0.load(SeqCst), 0);
        tx.abort();
        assert_eq!(count.0.load(SeqCst), 1);
        let r = Pin::new(&mut f).poll(&mut Context::from_waker(&waker));
        assert!(r.is_ready());
    }

    /// One client on a two-worker runtime: tokio polls the connection once
    /// a request, not again for the self-wake.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_with_a_body_is_served_without_a_second_poll_from_tokio() {
        use http_body_util::BodyExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (count, _) = outer();
        let polls = count.clone();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper::service::service_fn(
                |req: hyper::Request<hyper::body::Incoming>| async move {
                    let body = req.into_body().collect().await?.to_bytes();
                    Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(body)))
                },
            );
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let conn = std::pin::pin!(conn);
            CountPolls {
                inner: RepollSelfWakes::new(conn),
                polls,
            }
            .await
        });
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut send, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        const REQUESTS: usize = 50;
        for _ in 0..REQUESTS {
            send.ready().await.unwrap();
            let req = hyper::Request::post("/")
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    b"hello",
                )))
                .unwrap();
            let res = send.send_request(req).await.unwrap();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"hello");
        }
        // About one poll a request, for its bytes (without the wrapper
        // two: the body channel's self-wake adds one).
        let polls = count.0.load(SeqCst);
        assert!(
            polls < REQUESTS * 3 / 2,
            "{polls} polls for {REQUESTS} requests"
        );
        drop(send);
        server.await.unwrap().unwrap();
    }

    /// Counts how often tokio polls `inner`.
    struct CountPolls<F> {
        inner: F,
        polls: Arc<Count>,
    }
    impl<F: Future + Unpin> Future for CountPolls<F> {
        type Output = F::Output;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            self.polls.0.fetch_add(1, SeqCst);
            Pin::new(&mut self.inner).poll(cx)
        }
    }
}
