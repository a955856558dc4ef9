//! One io_uring per target thread, with futures that own their buffers.
//!
//! Invariants:
//! - An operation's buffer moves into its slot at submission and is handed back only with
//!   the completion; a future dropped early leaves the buffer in the slot until the kernel
//!   reports completion, so the kernel never writes to freed memory.
//! - Submissions queue in user space and reach the kernel at [`Uring::submit`], which the
//!   target's event loop calls once per turn, batching many operations per system call.
//! - Completions signal an eventfd, so the event loop can block in `epoll` on the fabric and
//!   the disk at once.

use crate::buf::IoBuf;
use daos_types::{Der, Error, Result};
use io_uring::{opcode, squeue, types, IoUring};
use slab::Slab;
use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

struct Slot {
    result: Option<i32>,
    waker: Option<Waker>,
    buf: Option<Box<dyn Any>>,
    abandoned: bool,
}

struct Inner {
    ring: IoUring,
    slots: Slab<Slot>,
    backlog: VecDeque<squeue::Entry>,
    queued: usize,
}

/// A target thread's io_uring. Not `Send`: it belongs to one thread.
#[derive(Clone)]
pub struct Uring {
    inner: Rc<RefCell<Inner>>,
    eventfd: Rc<OwnedFd>,
}

impl Uring {
    /// A ring with `depth` submission entries and a registered eventfd.
    ///
    /// Errors: `-DER_NOSYS` if the kernel has no io_uring; other errors by errno.
    pub fn new(depth: u32) -> Result<Uring> {
        let ring = IoUring::new(depth).map_err(|e| {
            if e.raw_os_error() == Some(libc::ENOSYS) {
                Error::new(Der::Nosys, "io_uring is not available in this kernel")
            } else {
                Error::from(e).with_context("creating io_uring")
            }
        })?;
        // SAFETY: eventfd has no memory arguments; the result is checked below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(Error::from(std::io::Error::last_os_error()).with_context("eventfd"));
        }
        // SAFETY: fd is a fresh descriptor we own.
        let eventfd = unsafe { OwnedFd::from_raw_fd(fd) };
        ring.submitter()
            .register_eventfd(eventfd.as_raw_fd())
            .map_err(Error::from)?;
        Ok(Uring {
            inner: Rc::new(RefCell::new(Inner {
                ring,
                slots: Slab::new(),
                backlog: VecDeque::new(),
                queued: 0,
            })),
            eventfd: Rc::new(eventfd),
        })
    }

    /// The eventfd signalled on completions.
    pub fn event_fd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    /// Clears the eventfd after a wake-up.
    pub fn clear_event(&self) {
        let mut value = 0u64;
        // SAFETY: reads 8 bytes into a local from a non-blocking eventfd.
        unsafe { libc::read(self.eventfd.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    /// Operations submitted and not yet completed.
    pub fn in_flight(&self) -> usize {
        self.inner.borrow().slots.len()
    }

    /// Whether operations wait to be handed to the kernel.
    pub fn has_queued(&self) -> bool {
        let inner = self.inner.borrow();
        inner.queued > 0 || !inner.backlog.is_empty()
    }

    fn push(&self, entry: squeue::Entry, buf: Option<Box<dyn Any>>) -> usize {
        let mut inner = self.inner.borrow_mut();
        let id = inner.slots.insert(Slot {
            result: None,
            waker: None,
            buf,
            abandoned: false,
        });
        let entry = entry.user_data(id as u64);
        let inner = &mut *inner;
        // SAFETY: the entry's buffer (if any) lives in the slot until its completion.
        let pushed =
            inner.backlog.is_empty() && unsafe { inner.ring.submission().push(&entry).is_ok() };
        if pushed {
            inner.queued += 1;
        } else {
            inner.backlog.push_back(entry);
        }
        id
    }

    /// Hands queued operations to the kernel. Returns how many were submitted.
    pub fn submit(&self) -> Result<usize> {
        let mut inner = self.inner.borrow_mut();
        let inner = &mut *inner;
        while let Some(entry) = inner.backlog.front() {
            // SAFETY: as in `push`, buffers live in their slots.
            if unsafe { inner.ring.submission().push(entry).is_err() } {
                break;
            }
            inner.backlog.pop_front();
            inner.queued += 1;
        }
        if inner.queued == 0 {
            return Ok(0);
        }
        match inner.ring.submit() {
            Ok(n) => {
                inner.queued = inner.queued.saturating_sub(n);
                Ok(n)
            }
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    || e.raw_os_error() == Some(libc::EAGAIN) =>
            {
                Ok(0)
            }
            Err(e) => Err(Error::from(e).with_context("io_uring submit")),
        }
    }

    /// Reads completions and wakes their futures. Returns how many completed.
    pub fn reap(&self) -> usize {
        let mut wakers = Vec::new();
        {
            let mut inner = self.inner.borrow_mut();
            let inner = &mut *inner;
            let completions: Vec<(u64, i32)> = inner
                .ring
                .completion()
                .map(|cqe| (cqe.user_data(), cqe.result()))
                .collect();
            for (id, result) in completions {
                let id = id as usize;
                let Some(slot) = inner.slots.get_mut(id) else {
                    continue;
                };
                if slot.abandoned {
                    inner.slots.remove(id);
                    continue;
                }
                slot.result = Some(result);
                if let Some(waker) = slot.waker.take() {
                    wakers.push(waker);
                }
            }
        }
        let count = wakers.len();
        for waker in wakers {
            waker.wake();
        }
        count
    }

    /// Writes all of `buf` at `offset` of `fd`.
    pub fn write<B: IoBuf>(&self, fd: RawFd, mut buf: B, offset: u64) -> IoFuture<B> {
        let (ptr, len) = (buf.io_ptr(), buf.io_len());
        let entry = opcode::Write::new(types::Fd(fd), ptr, len as u32)
            .offset(offset)
            .build();
        let id = self.push(entry, Some(Box::new(buf)));
        IoFuture {
            uring: self.clone(),
            id,
            done: false,
            _buf: PhantomData,
        }
    }

    /// Reads `buf.io_len()` bytes at `offset` of `fd` into `buf`.
    pub fn read<B: IoBuf>(&self, fd: RawFd, mut buf: B, offset: u64) -> IoFuture<B> {
        let (ptr, len) = (buf.io_ptr(), buf.io_len());
        let entry = opcode::Read::new(types::Fd(fd), ptr, len as u32)
            .offset(offset)
            .build();
        let id = self.push(entry, Some(Box::new(buf)));
        IoFuture {
            uring: self.clone(),
            id,
            done: false,
            _buf: PhantomData,
        }
    }

    /// `fdatasync(fd)`.
    pub fn fdatasync(&self, fd: RawFd) -> IoFuture<()> {
        let entry = opcode::Fsync::new(types::Fd(fd))
            .flags(types::FsyncFlags::DATASYNC)
            .build();
        let id = self.push(entry, None);
        IoFuture {
            uring: self.clone(),
            id,
            done: false,
            _buf: PhantomData,
        }
    }
}

/// A pending I/O; resolves to the byte count (or error) and the buffer.
pub struct IoFuture<B> {
    uring: Uring,
    id: usize,
    done: bool,
    _buf: PhantomData<fn() -> B>,
}

impl<B: 'static> Future for IoFuture<B> {
    type Output = (Result<usize>, B);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.uring.inner.borrow_mut();
        let slot = inner
            .slots
            .get_mut(self.id)
            .expect("I/O slot exists until completion is taken");
        let Some(result) = slot.result else {
            slot.waker = Some(cx.waker().clone());
            return Poll::Pending;
        };
        let slot = inner.slots.remove(self.id);
        drop(inner);
        self.done = true;
        let buf = match slot.buf {
            Some(any) => *any.downcast::<B>().expect("I/O buffer type"),
            None => *(Box::new(()) as Box<dyn Any>)
                .downcast::<B>()
                .expect("unit buffer"),
        };
        let outcome = if result < 0 {
            let err = std::io::Error::from_raw_os_error(-result);
            let der = if -result == libc::ENOSPC {
                Der::Nospace
            } else {
                Der::Io
            };
            Err(Error::new(der, format!("block I/O failed: {err}")))
        } else {
            Ok(result as usize)
        };
        Poll::Ready((outcome, buf))
    }
}

impl<B> Drop for IoFuture<B> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut inner = self.uring.inner.borrow_mut();
        if let Some(slot) = inner.slots.get_mut(self.id) {
            if slot.result.is_some() {
                inner.slots.remove(self.id);
            } else {
                slot.abandoned = true;
                slot.waker = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::AlignedBuf;
    use crate::file::{open_direct, Durability};
    use std::os::unix::io::AsRawFd;

    fn block_on<T>(uring: &Uring, fut: impl Future<Output = T>) -> T {
        let mut fut = std::pin::pin!(fut);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            uring.submit().unwrap();
            uring.reap();
            std::thread::yield_now();
        }
    }

    #[test]
    fn direct_write_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = open_direct(
            &dir.path().join("blob"),
            1 << 20,
            true,
            Durability::Synchronous,
        )
        .unwrap();
        let uring = Uring::new(32).unwrap();
        let mut buf = AlignedBuf::zeroed(8192);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        let (n, _) = block_on(&uring, uring.write(file.as_raw_fd(), buf, 4096));
        assert_eq!(n.unwrap(), 8192);
        let (n, back) = block_on(
            &uring,
            uring.read(file.as_raw_fd(), AlignedBuf::zeroed(8192), 4096),
        );
        assert_eq!(n.unwrap(), 8192);
        assert!(back.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        let (n, ()) = block_on(&uring, uring.fdatasync(file.as_raw_fd()));
        n.unwrap();
    }

    #[test]
    fn dropped_future_keeps_buffer_until_completion() {
        let dir = tempfile::tempdir().unwrap();
        let file =
            open_direct(&dir.path().join("blob"), 1 << 20, true, Durability::Direct).unwrap();
        let uring = Uring::new(8).unwrap();
        for _ in 0..64 {
            drop(uring.read(file.as_raw_fd(), AlignedBuf::zeroed(4096), 0));
        }
        uring.submit().unwrap();
        while uring.in_flight() > 0 {
            uring.submit().unwrap();
            uring.reap();
        }
    }
}
