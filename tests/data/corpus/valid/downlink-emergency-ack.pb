E12 œ²¶Å·3‚
Dispatcher Riveraœ²¶Å·3