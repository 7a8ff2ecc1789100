-- footage.db v4 (issue 17): the network camera's own clock when its frame was taken (HTTP Date,
-- RTCP sender report), beside the device's captured_at_ms. Never used as evidence time.
ALTER TABLE snapshot ADD COLUMN camera_time_ms INTEGER;
