E12 œ²¶Å·3Š*
2026-000123closed by Dispatcher Rivera