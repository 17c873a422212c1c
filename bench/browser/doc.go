// Package browser tests the service's pages in a real browser: headless
// Chromium (Debian's chromium, which scripts/need chromium installs when it
// is missing) driven with chromedp. Its tests load the status page under
// load, follow a job whose event stream the server cuts, render a hostile
// job, and save screenshots of the pages (make screenshots keeps them in
// docs/).
package browser
