// A view that reads the API: on mount, when what it shows changes (its identity props), and again
// when live trust events arrive (the `refresh` prop), at most once a second, since a rollout sends bursts.
import { Component } from './html.js';

const REFRESH_MS = 1000;

export class LoadingView extends Component {
  /** Props that name what the view shows (a host id, a profile name). */
  static identity = [];

  componentDidMount() {
    void this.load();
  }

  componentDidUpdate(prev) {
    if (this.constructor.identity.some((k) => prev[k] !== this.props[k])) {
      void this.load();
    } else if (prev.refresh !== this.props.refresh && !this.pending) {
      this.pending = setTimeout(() => {
        this.pending = undefined;
        void this.load();
      }, REFRESH_MS);
    }
  }

  componentWillUnmount() {
    clearTimeout(this.pending);
  }
}
