E12 œ²¶Å·3b*

Dispatch 3Use the Chambers St entrance