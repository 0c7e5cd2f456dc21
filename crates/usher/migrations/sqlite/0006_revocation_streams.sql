-- The stream a revocation ended, so a node catching up from the log tells the
-- device `stream_stopped` before `signed_out`, in the same order as the bus.
ALTER TABLE revocations ADD COLUMN ended_stream TEXT;
