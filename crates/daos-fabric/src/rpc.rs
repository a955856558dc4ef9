//! Request/reply over tagged messages, and bulk transfers with RMA.
//!
//! A call posts a receive for its reply (tag = the call's RPC id) *before* sending the request
//! (tag [`REQUEST_TAG`]), so replies never land in the provider's unexpected-message buffers.
//! Servers reply to the address carried in the request with the RPC id as tag. Bulk data never
//! travels in messages: the side that owns the data registers it and sends its
//! [`RemoteRegion`], and the engine moves it with `fi_read` / `fi_write` directly between the
//! client's buffer and its own DMA buffer.

use crate::context::{Hold, NetContext, OpHandle, Posted, REQUEST_TAG};
use crate::fabric::RemoteRegion;
use crate::{fi_error, FiAddr, Result};
use daos_types::{Der, Error};
use std::ffi::c_void;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Memory that can be the local side of an RMA transfer.
///
/// # Safety
/// `as_mut_ptr()` must stay valid for `len()` bytes for as long as the value lives, even if the
/// value is moved, and `desc()` must describe a registration covering it (null only when the
/// provider does not need local registration).
pub unsafe trait RmaBuffer: Send + 'static {
    /// Start of the memory.
    fn as_mut_ptr(&mut self) -> *mut u8;
    /// Length in bytes.
    fn len(&self) -> usize;
    /// Whether the buffer is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The registration descriptor.
    fn desc(&self) -> *mut c_void;
}

/// Posts a receive for the reply of `rpc_id`, sends `request` to `dest`, and waits at most
/// `timeout` for the reply. Returns the reply bytes.
///
/// Errors: `-DER_TIMEDOUT` when no reply arrives in time; `-DER_UNREACH` when the request
/// cannot be delivered; `-DER_OVERFLOW` when the reply does not fit `reply_capacity`.
pub async fn call(
    ctx: &Arc<NetContext>,
    dest: FiAddr,
    rpc_id: u64,
    request: Vec<u8>,
    reply_capacity: usize,
    timeout: Duration,
) -> Result<Vec<u8>> {
    debug_assert!(rpc_id & REQUEST_TAG == 0);
    let deadline = Instant::now() + timeout;
    let reply = ctx.post_recv(vec![0u8; reply_capacity], rpc_id)?;
    let sent = match post_send_until(ctx, dest, REQUEST_TAG, request, deadline).await {
        Ok(sent) => sent,
        Err(err) => {
            reply.cancel();
            return Err(err);
        }
    };
    let outcome = Call {
        reply: Some(reply),
        sent: Some(sent),
        sleep: ctx.sleep_until(deadline),
    }
    .await;
    outcome
}

/// How long a send without a timeout of its own (a reply) or an RMA may wait for the
/// provider to take it.
const POST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between posts while the provider stays busy; other tasks of the thread run.
const BUSY_PAUSE: Duration = Duration::from_millis(1);

/// Posts with `post` until the provider takes the operation or `deadline` passes. While it
/// stays busy ([`Posted::Busy`], as when connecting to a peer that is gone), this task
/// sleeps [`BUSY_PAUSE`] so that the thread's other tasks go on, then posts the returned
/// memory again.
///
/// Errors: `-DER_TIMEDOUT` when the provider is still busy at `deadline`; those of `post`.
async fn post_until(
    ctx: &Arc<NetContext>,
    what: &str,
    deadline: Instant,
    mut hold: Hold,
    mut post: impl FnMut(Hold) -> Result<Posted>,
) -> Result<OpHandle> {
    loop {
        match post(hold)? {
            Posted::Op(op) => return Ok(op),
            Posted::Busy(back) => {
                if Instant::now() >= deadline {
                    return Err(Error::new(
                        Der::Timedout,
                        format!("{what}: provider stayed busy"),
                    ));
                }
                hold = back;
                ctx.sleep_until(Instant::now() + BUSY_PAUSE).await;
            }
        }
    }
}

async fn post_send_until(
    ctx: &Arc<NetContext>,
    dest: FiAddr,
    tag: u64,
    msg: Vec<u8>,
    deadline: Instant,
) -> Result<OpHandle> {
    post_until(ctx, "fi_tsend", deadline, Hold::Bytes(msg), |hold| {
        let msg = hold.into_bytes().expect("a send holds its message");
        ctx.post_send(dest, tag, msg)
    })
    .await
}

struct Call {
    reply: Option<OpHandle>,
    sent: Option<OpHandle>,
    sleep: crate::context::Sleep,
}

impl Call {
    fn fail(&mut self, err: Error) -> Poll<Result<Vec<u8>>> {
        if let Some(reply) = self.reply.take() {
            reply.cancel();
        }
        Poll::Ready(Err(err))
    }
}

impl Future for Call {
    type Output = Result<Vec<u8>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(sent) = self.sent.as_mut() {
            if let Poll::Ready((done, _)) = Pin::new(sent).poll(cx) {
                self.sent = None;
                if done.err != 0 {
                    return self.fail(Error::new(
                        Der::Unreach,
                        format!("request not delivered: FI error {}", done.err),
                    ));
                }
            }
        }
        if let Some(reply) = self.reply.as_mut() {
            if let Poll::Ready((done, hold)) = Pin::new(reply).poll(cx) {
                self.reply = None;
                if done.err != 0 {
                    let der = if done.overflow > 0 || done.err == 265 {
                        Der::Overflow
                    } else {
                        Der::Hg
                    };
                    return Poll::Ready(Err(Error::new(
                        der,
                        format!("reply receive failed: FI error {}", done.err),
                    )));
                }
                let mut bytes = hold.into_bytes().unwrap_or_default();
                bytes.truncate(done.len);
                return Poll::Ready(Ok(bytes));
            }
        }
        if Pin::new(&mut self.sleep).poll(cx).is_ready() {
            return self.fail(Error::new(Der::Timedout, "no reply from the engine"));
        }
        Poll::Pending
    }
}

/// Sends `msg` to `dest` with `tag` and waits until the provider is done with it.
///
/// Errors: `-DER_UNREACH` when the message cannot be delivered.
pub async fn send(ctx: &Arc<NetContext>, dest: FiAddr, tag: u64, msg: Vec<u8>) -> Result<()> {
    let sent = post_send_until(ctx, dest, tag, msg, Instant::now() + POST_TIMEOUT).await?;
    let (done, _) = sent.await;
    if done.err != 0 {
        return Err(Error::new(
            Der::Unreach,
            format!("send failed: FI error {}", done.err),
        ));
    }
    Ok(())
}

async fn rma<B: RmaBuffer>(
    ctx: &Arc<NetContext>,
    mut buf: B,
    offset: usize,
    peer: FiAddr,
    remote: RemoteRegion,
    read: bool,
) -> Result<B> {
    let len = remote.len as usize;
    if offset.checked_add(len).is_none_or(|end| end > buf.len()) {
        return Err(Error::new(
            Der::Inval,
            "bulk transfer larger than the local buffer",
        ));
    }
    if len == 0 {
        return Ok(buf);
    }
    // SAFETY: RmaBuffer guarantees the pointer is valid for len() bytes while buf lives, and
    // moving buf into the Hold keeps it alive until the completion is read.
    let (ptr, desc) = unsafe { (buf.as_mut_ptr().add(offset), buf.desc()) };
    let hold = crate::context::Hold::Other(Box::new(buf));
    let what = if read { "fi_read" } else { "fi_write" };
    // SAFETY: see above (a re-post gets the same boxed buffer back); the descriptor covers
    // the buffer by RmaBuffer's contract.
    let op = post_until(
        ctx,
        what,
        Instant::now() + POST_TIMEOUT,
        hold,
        |hold| unsafe {
            if read {
                ctx.post_read(ptr, desc, peer, remote, hold)
            } else {
                ctx.post_write(ptr, desc, peer, remote, hold)
            }
        },
    )
    .await?;
    let (done, hold) = op.await;
    if done.err != 0 {
        return Err(Error::new(
            Der::Hg,
            format!(
                "bulk {} failed: {}",
                if read { "read" } else { "write" },
                fi_error(-done.err, "rma")
            ),
        ));
    }
    match hold {
        crate::context::Hold::Other(any) => Ok(*any.downcast::<B>().expect("bulk buffer type")),
        _ => unreachable!("bulk transfer holds its buffer"),
    }
}

/// Pulls `remote` from `peer` into `buf[offset..]`; returns the buffer.
///
/// Errors: `-DER_INVAL` if it does not fit; `-DER_HG` if the transfer fails.
pub async fn rma_read<B: RmaBuffer>(
    ctx: &Arc<NetContext>,
    buf: B,
    offset: usize,
    peer: FiAddr,
    remote: RemoteRegion,
) -> Result<B> {
    rma(ctx, buf, offset, peer, remote, true).await
}

/// Pushes `buf[offset..offset + remote.len]` to `remote` at `peer`; returns the buffer.
///
/// Errors: `-DER_INVAL` if the range is outside the buffer; `-DER_HG` if the transfer fails.
pub async fn rma_write<B: RmaBuffer>(
    ctx: &Arc<NetContext>,
    buf: B,
    offset: usize,
    peer: FiAddr,
    remote: RemoteRegion,
) -> Result<B> {
    rma(ctx, buf, offset, peer, remote, false).await
}
