// The candlestick chart (TradingView lightweight-charts, vendored): the stored bars of one
// instrument, the newest bar moved by each pushed quote.

const $ = (id) => document.getElementById(id);

const tickLabel = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullLabel = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});

export class Chart {
  /** ``loadBars(instrument, period)`` answers the bars: [{epoch (ms), open, high, low, close}]. */
  constructor(loadBars) {
    this.loadBars = loadBars;
    this.instrument = null;
    this.period = 1;
    this.last = null;
    this.series = null;
    this.chart = null;
    $("c-instrument").addEventListener("change", (e) => this.show(e.target.value));
    $("c-period").addEventListener("change", (e) => {
      this.period = Number(e.target.value);
      this.show(this.instrument);
    });
  }

  /** The chart, made on first use (the library loads after the page's modules). */
  ensure() {
    if (this.chart || !window.LightweightCharts) return this.chart !== null;
    const lib = window.LightweightCharts;
    const box = $("chart");
    this.chart = lib.createChart(box, {
      autoSize: true,
      layout: { background: { color: "transparent" }, textColor: "#8a96a3" },
      grid: { vertLines: { color: "#1e262f" }, horzLines: { color: "#1e262f" } },
      timeScale: { timeVisible: true, secondsVisible: false, tickMarkFormatter: (t) => tickLabel.format(new Date(t * 1000)) },
      localization: { timeFormatter: (t) => fullLabel.format(new Date(t * 1000)) },
    });
    this.series = this.chart.addSeries(lib.CandlestickSeries, {
      upColor: "#3fb68b", downColor: "#ff5c5c", borderVisible: false,
      wickUpColor: "#3fb68b", wickDownColor: "#ff5c5c",
    });
    return true;
  }

  setInstruments(names) {
    const select = $("c-instrument");
    const current = select.value;
    select.replaceChildren(...names.map((n) => new Option(n, n)));
    if (names.includes(current)) select.value = current;
    if (names.length && !names.includes(this.instrument)) this.show(names[0]);
  }

  async show(instrument) {
    if (!instrument) return;
    this.instrument = instrument;
    $("c-instrument").value = instrument;
    if (!this.ensure()) return;
    let bars = [];
    try {
      bars = await this.loadBars(instrument, this.period);
    } catch {
      bars = [];
    }
    if (instrument !== this.instrument) return;
    const data = bars.map((b) => ({
      time: Math.floor(b.epoch / 1000), open: b.open, high: b.high, low: b.low, close: b.close,
    }));
    this.series.setData(data);
    this.last = data.length ? { ...data[data.length - 1] } : null;
    this.chart.timeScale().fitContent();
  }

  /** A pushed quote of ``instrument``: the newest bar moves, or a new one starts. */
  onQuote(quote) {
    if (!this.series || quote.instrument !== this.instrument) return;
    const value = quote.last ?? (quote.bid + quote.ask) / 2;
    if (!Number.isFinite(value)) return;
    const span = this.period * 60;
    const at = Math.floor((quote.epoch ?? Date.parse(quote.quoteTime)) / 1000 / span) * span;
    if (!this.last || at > this.last.time) {
      this.last = { time: at, open: value, high: value, low: value, close: value };
    } else if (at === this.last.time) {
      this.last.high = Math.max(this.last.high, value);
      this.last.low = Math.min(this.last.low, value);
      this.last.close = value;
    } else {
      return;
    }
    this.series.update({ ...this.last });
  }
}
