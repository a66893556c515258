// Where the staff console finds the API.
// Empty: the same origin that serves the console (the API itself serves it at /console/).
// Hosting the console elsewhere: put the API origin here (for example "https://polaris.example.org")
// and list the console's own origin in the API's POLARIS_CONSOLE_ORIGINS (CORS, bearer tokens, no cookies).
export const API_BASE = "";
