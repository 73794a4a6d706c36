/* Seva CRM's GraphiQL page: a sign-in panel that calls the `login` mutation and adds
   `Authorization: Bearer <token>` to every request GraphiQL sends (unless the Headers tab
   already sets one). The token lives in this tab's sessionStorage only. */
(function () {
  "use strict";
  var endpoint = window.location.pathname;
  var storageKey = "seva.graphiql.token";
  var form = document.getElementById("seva-signin");
  var status = document.getElementById("seva-status");
  var signout = document.getElementById("seva-signout-button");
  var signin = document.getElementById("seva-signin-button");

  function token() { return window.sessionStorage.getItem(storageKey); }

  function show(text, isError) {
    status.textContent = text;
    status.className = isError ? "seva-error" : "";
  }

  function signedIn(email) {
    signout.hidden = false;
    show("Signed in as " + email + ": queries send your token.", false);
  }

  function hasAuthorization(headers) {
    return Object.keys(headers || {}).some(function (name) { return name.toLowerCase() === "authorization"; });
  }

  var base = GraphiQL.createFetcher({ url: endpoint });
  function fetcher(params, options) {
    var headers = Object.assign({}, options && options.headers);
    if (token() && !hasAuthorization(headers)) {
      headers.Authorization = "Bearer " + token();
    }
    return base(params, Object.assign({}, options, { headers: headers }));
  }

  var LOGIN = "mutation SevaGraphiQLLogin($email: String!, $password: String!) {" +
    " login(email: $email, password: $password) { accessToken errors { code message } } }";

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var email = document.getElementById("seva-email").value;
    var password = document.getElementById("seva-password");
    signin.disabled = true;
    show("Signing in...", false);
    window.fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: LOGIN, variables: { email: email, password: password.value } })
    }).then(function (response) { return response.json(); }).then(function (body) {
      var login = body.data && body.data.login;
      var problem = (body.errors && body.errors[0]) || (login && login.errors && login.errors[0]);
      if (problem || !login || !login.accessToken) {
        show("Sign-in failed: " + (problem ? problem.message : "no token"), true);
        return;
      }
      window.sessionStorage.setItem(storageKey, login.accessToken);
      window.sessionStorage.setItem(storageKey + ".email", email);
      password.value = "";
      signedIn(email);
    }).catch(function () {
      show("Sign-in failed: the server did not answer.", true);
    }).finally(function () { signin.disabled = false; });
  });

  signout.addEventListener("click", function () {
    window.sessionStorage.removeItem(storageKey);
    window.sessionStorage.removeItem(storageKey + ".email");
    signout.hidden = true;
    show("Not signed in.", false);
  });

  if (token()) {
    signedIn(window.sessionStorage.getItem(storageKey + ".email") || "a saved token");
  }

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true }));
})();
