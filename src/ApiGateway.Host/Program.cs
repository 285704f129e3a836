// Placeholder entry point; the gateway host is built under issue #3.
return 0;
